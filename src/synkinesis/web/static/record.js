// Guided recording: camera preview (mirrored for display only) with the oval to fill and a light
// hint; then each protocol step as a prompt + countdown while MediaRecorder records one continuous
// clip. After each step a few frames of it (and of the rest step) go to the server, which checks it
// with the analysis's own measures (the movement happened, face seen and frontal, light; the rest
// step at rest); a step that fails can be recorded again. Stop saves the steps done; Cancel
// discards everything. The clip is uploaded with each step's (last) start and end.
(async function () {
  "use strict";
  const steps = JSON.parse(document.getElementById("protocol-steps").textContent);
  const $ = (id) => document.getElementById(id);
  const video = $("preview"), promptEl = $("prompt"), lightEl = $("light"), stage = $("rec-stage");
  const startBtn = $("start"), stopBtn = $("stop"), cancelBtn = $("cancel"), status = $("rec-status");
  const indicator = $("rec-indicator"), recTime = $("rec-time"), countdownEl = $("countdown");
  const resultBox = $("step-result"), checksList = $("step-checks"), decide = $("decide");
  const FRAME_W = 320, FRAME_EVERY_MS = 250, MAX_REST_FRAMES = 8;
  // State shared with tests (Playwright reads it).
  const R = (window.__recorder = { state: "idle", step: null, checks: [], times: [], redone: [], uploaded: null });
  let stream, run = null;

  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (e) {
    promptEl.textContent = "The camera could not be opened: allow camera access for this page and reload.";
    return;
  }
  video.srcObject = stream;
  await video.play().catch(() => {});

  // A light hint while waiting (the server checks each step's light properly).
  const small = document.createElement("canvas");
  small.width = 64; small.height = 48;
  const sctx = small.getContext("2d", { willReadFrequently: true });
  function brightness() {
    sctx.drawImage(video, 0, 0, 64, 48);
    const d = sctx.getImageData(0, 0, 64, 48).data;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) sum += 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
    return sum / (d.length / 4);
  }
  setInterval(() => {
    if (!video.videoWidth) return;
    const b = brightness();
    const ok = b >= 40 && b <= 220;
    lightEl.textContent = b < 40 ? "Too dark: add light in front of your face." : b > 220 ? "Too bright: avoid light behind you or into the camera." : "Light OK.";
    lightEl.className = ok ? "light ok" : "light warn";
  }, 500);

  const frameCanvas = document.createElement("canvas");
  function grab() {  // one unmirrored JPEG of the camera picture, 320 px wide
    const vw = video.videoWidth || 640, vh = video.videoHeight || 480;
    frameCanvas.width = FRAME_W;
    frameCanvas.height = Math.round((FRAME_W * vh) / vw);
    frameCanvas.getContext("2d").drawImage(video, 0, 0, frameCanvas.width, frameCanvas.height);
    return new Promise((res) => frameCanvas.toBlob(res, "image/jpeg", 0.8));
  }

  startBtn.disabled = false;
  status.textContent = "Camera ready.";

  function mark(key, cls) {
    for (const li of document.querySelectorAll("#steps li")) {
      if (li.dataset.step === key) {
        li.classList.remove("current", "done", "problem");
        if (cls) li.classList.add(cls);
      }
    }
  }
  function clearMarks() {
    for (const li of document.querySelectorAll("#steps li")) li.classList.remove("current", "done", "problem");
  }
  function controls(recording) {
    startBtn.disabled = recording;
    stopBtn.disabled = !recording;
    cancelBtn.disabled = !recording;
  }

  // Sleeps end early when the run is stopped or cancelled.
  function sleep(s, r) {
    return new Promise((res) => { const t = setTimeout(res, s * 1000); r.wake.push(() => { clearTimeout(t); res(); }); });
  }
  const over = (r) => r.stopped || r.cancelled;

  async function checkStep(r, s, frames) {
    const form = new FormData();
    form.append("step", s.step);
    if (s.movement !== "rest") r.restFrames.forEach((b, i) => form.append("rest", b, `rest-${i}.jpg`));
    frames.forEach((b, i) => form.append("frames", b, `frame-${i}.jpg`));
    try {
      const resp = await fetch(startBtn.dataset.checkUrl, { method: "POST", body: form,
        headers: { "X-CSRF-Token": csrfToken(), Accept: "application/json" } });
      const body = await resp.json().catch(() => ({}));
      if (!resp.ok) return { ok: false, checks: [{ key: "check", ok: false, message: body.detail || "The step could not be checked." }] };
      return body;
    } catch (e) {
      return { ok: false, checks: [{ key: "check", ok: false, message: "The step could not be checked (no connection)." }] };
    }
  }

  function showResult(result) {
    resultBox.hidden = false;
    checksList.textContent = "";
    const shown = result.ok ? result.checks.filter((c) => c.key === "movement" || c.key === "rest") : result.checks.filter((c) => !c.ok);
    for (const c of shown.length ? shown : result.checks) {
      const li = document.createElement("li");
      li.className = c.ok ? "ok" : "bad";
      li.textContent = c.message;
      checksList.appendChild(li);
    }
  }

  function decision(r) {  // "redo" | "continue" (or the run ended)
    decide.hidden = false;
    return new Promise((res) => {
      const done = (what) => { decide.hidden = true; $("redo").onclick = $("continue").onclick = null; res(what); };
      $("redo").onclick = () => done("redo");
      $("continue").onclick = () => done("continue");
      r.wake.push(() => done("ended"));
    });
  }

  async function doStep(r, s) {
    R.step = s.step;
    mark(s.step, "current");
    resultBox.hidden = true;
    for (let c = Math.ceil(s.countdown); c > 0 && !over(r); c--) {
      promptEl.textContent = `${s.name}: ${s.prompt}`;
      countdownEl.hidden = false;
      countdownEl.textContent = String(c);
      await sleep(s.countdown / Math.ceil(s.countdown), r);
    }
    countdownEl.hidden = true;
    if (over(r)) return null;
    if (r.t0() === null) r.start();
    const start = (performance.now() - r.t0()) / 1000;
    promptEl.textContent = `${s.name}: ${s.prompt} — hold`;
    const frames = [];
    const end = performance.now() + s.seconds * 1000;
    while (performance.now() < end && !over(r)) {
      const b = await grab();
      if (b) frames.push(b);
      await sleep(Math.min(FRAME_EVERY_MS, Math.max(0, end - performance.now())) / 1000, r);
    }
    if (over(r)) return null;
    const time = { step: s.step, start_s: start, end_s: (performance.now() - r.t0()) / 1000 };
    if (s.movement === "rest") r.restFrames = frames.slice(-MAX_REST_FRAMES);
    promptEl.textContent = "Relax. Checking this step…";
    const result = await checkStep(r, s, frames);
    R.checks.push(Object.assign({ step: s.step }, result));
    return { time, result };
  }

  async function upload(r) {
    promptEl.textContent = "Done. Uploading…";
    const form = new FormData();
    form.append("file", new Blob(r.chunks, { type: "video/webm" }), "guided-recording.webm");
    form.append("step_times", JSON.stringify(r.times));
    const resp = await fetch(startBtn.dataset.uploadUrl, { method: "POST", body: form, headers: { "X-CSRF-Token": csrfToken(), Accept: "application/json" } });
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      promptEl.textContent = "Upload refused: " + (body.detail || resp.status);
      R.state = "idle";
      controls(false);
      return;
    }
    R.uploaded = body.url;
    status.textContent = "Uploaded.";
    location.href = body.url;
  }

  async function record() {
    const type = ["video/webm;codecs=vp8", "video/webm;codecs=vp9", "video/webm"].find((t) => MediaRecorder.isTypeSupported(t));
    const r = run = { stopped: false, cancelled: false, wake: [], chunks: [], times: [], restFrames: [] };
    // 1 Mbit/s: a 640×480 face stays sharp, and a minute with checks and redos stays near 8 MB.
    const recorder = new MediaRecorder(stream, Object.assign({ videoBitsPerSecond: 1000000 }, type ? { mimeType: type } : {}));
    recorder.ondataavailable = (e) => { if (e.data.size && !r.cancelled) r.chunks.push(e.data); };
    const stopped = new Promise((res) => (recorder.onstop = res));
    let t0 = null;
    r.start = () => {  // the recording starts with the first step's hold
      recorder.start(250);
      t0 = performance.now();
      stage.classList.add("recording");
      indicator.hidden = false;
      r.clock = setInterval(() => {
        const sec = Math.floor((performance.now() - t0) / 1000);
        recTime.textContent = `${Math.floor(sec / 60)}:${String(sec % 60).padStart(2, "0")}`;
      }, 250);
    };
    r.t0 = () => t0;
    R.state = "recording";
    R.checks = []; R.times = []; R.redone = []; R.uploaded = null;
    clearMarks();
    controls(true);
    status.textContent = "";
    let i = 0;
    while (i < steps.length && !over(r)) {
      const s = steps[i];
      const out = await doStep(r, s);
      if (!out) break;
      r.times = r.times.filter((t) => t.step !== s.step).concat([out.time]);
      R.times = r.times;
      showResult(out.result);
      promptEl.textContent = out.result.ok ? `${s.name}: well done.` : `${s.name}: record this step again, or continue.`;
      if (out.result.ok) {
        mark(s.step, "done");
        await sleep(0.8, r);
        i++;
        continue;
      }
      const what = await decision(r);
      if (what === "redo") { R.redone.push(s.step); continue; }
      if (what === "continue") { mark(s.step, "problem"); i++; }
    }
    clearInterval(r.clock);
    if (recorder.state !== "inactive") { recorder.stop(); await stopped; }
    stage.classList.remove("recording");
    indicator.hidden = true;
    countdownEl.hidden = true;
    decide.hidden = true;
    if (r.cancelled || !r.times.length) {
      R.state = "cancelled";
      promptEl.textContent = "Cancelled: nothing was saved. Press Start to begin again.";
      resultBox.hidden = true;
      clearMarks();
      controls(false);
      return;
    }
    R.state = "uploading";
    stopBtn.disabled = cancelBtn.disabled = true;
    await upload(r);
  }

  startBtn.addEventListener("click", () => { if (R.state !== "recording") record(); });
  stopBtn.addEventListener("click", () => { if (run) { run.stopped = true; run.wake.splice(0).forEach((f) => f()); } });
  cancelBtn.addEventListener("click", () => {
    if (run) { run.cancelled = true; run.chunks = []; run.wake.splice(0).forEach((f) => f()); }
  });
})();
