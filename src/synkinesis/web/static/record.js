// Guided recording: camera preview, a basic light/face-size check, then each protocol step as a
// prompt + countdown while MediaRecorder records one continuous clip; uploads it with step times.
(async function () {
  const steps = JSON.parse(document.getElementById("protocol-steps").textContent);
  const video = document.getElementById("preview");
  const promptEl = document.getElementById("prompt");
  const checks = document.getElementById("checks");
  const startBtn = document.getElementById("start");
  const status = document.getElementById("rec-status");
  const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (e) {
    promptEl.textContent = "The camera could not be opened: allow camera access for this page and reload.";
    return;
  }
  video.srcObject = stream;
  await video.play().catch(() => {});

  // Basic lighting check: mean brightness of the preview (not a pose check: the server measures pose).
  const canvas = document.createElement("canvas");
  canvas.width = 64; canvas.height = 48;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  function brightness() {
    ctx.drawImage(video, 0, 0, 64, 48);
    const d = ctx.getImageData(0, 0, 64, 48).data;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) sum += 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
    return sum / (d.length / 4);
  }
  const checkTimer = setInterval(() => {
    const b = brightness();
    checks.textContent = b < 40 ? "Too dark: add light in front of the face." : b > 230 ? "Too bright: avoid light behind the camera." : "Light OK.";
  }, 500);
  startBtn.disabled = false;
  status.textContent = "Camera ready.";

  startBtn.addEventListener("click", async () => {
    startBtn.disabled = true;
    const type = ["video/webm;codecs=vp8", "video/webm;codecs=vp9", "video/webm"].find((t) => MediaRecorder.isTypeSupported(t));
    const recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
    const chunks = [];
    recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
    const stopped = new Promise((r) => (recorder.onstop = r));
    const times = [];
    let t0;
    for (const [i, s] of steps.entries()) {
      for (let c = Math.ceil(s.countdown); c > 0; c--) {
        promptEl.textContent = `${s.name}: ${s.prompt} — starting in ${c}`;
        await sleep(s.countdown / Math.ceil(s.countdown));
      }
      if (i === 0) { recorder.start(250); t0 = performance.now(); }
      const start = (performance.now() - t0) / 1000;
      promptEl.textContent = `${s.name}: ${s.prompt} — hold`;
      await sleep(s.seconds);
      times.push({ step: s.step, start_s: start, end_s: (performance.now() - t0) / 1000 });
    }
    recorder.stop();
    await stopped;
    clearInterval(checkTimer);
    promptEl.textContent = "Done. Uploading…";
    const form = new FormData();
    form.append("file", new Blob(chunks, { type: "video/webm" }), "guided-recording.webm");
    form.append("step_times", JSON.stringify(times));
    const r = await fetch(startBtn.dataset.uploadUrl, { method: "POST", body: form, headers: { "X-CSRF-Token": csrfToken(), Accept: "application/json" } });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) {
      promptEl.textContent = "Upload refused: " + (body.detail || r.status);
      startBtn.disabled = false;
      return;
    }
    status.textContent = "Uploaded.";
    location.href = body.url;
  });
})();
