// Mirror-biofeedback practice. The camera picture is shown mirrored (CSS only); frames go to the
// server unmirrored as JPEG over a WebSocket, ONE frame in flight: the newest camera frame is sent
// as soon as the previous reply has arrived. Each reply is the live feedback (two bars, warning,
// hold, repetitions) plus a few landmarks to draw. Losing the camera or the connection keeps what
// was done (the server saves it) and the session resumes where it stopped.
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("practice-config").textContent);
  const ex = cfg.exercise;
  const $ = (id) => document.getElementById(id);
  const video = $("cam"), overlay = $("overlay"), stage = $("stage"), banner = $("banner");
  const promptEl = $("prompt"), statusEl = $("status"), warnEl = $("warning"), latencyEl = $("latency");
  const FRAME_W = cfg.frame_width || 320, QUALITY = 0.7;
  const MAX_WANTED = 1.25;  // the wanted bar is full at 125 % of the target
  // State shared with tests (Playwright reads it): every feedback, latencies, the socket and stream.
  const P = (window.__practice = { log: [], latencies: [], ws: null, stream: null, sessionId: null, state: "idle",
                                   reps: 0, beeps: 0, warnings: 0, hellos: [] });
  let lines = cfg.lines, holdFraction = 0.6;
  let inFlight = false, inFlightSince = 0, pending = false;
  let frameNo = 0, sentFrameNo = -1, lastCapture = 0, lastFrameAt = 0;
  const canvas = document.createElement("canvas");
  let ctx2d = null, audio = null, lastBeep = 0, lastWarning = false;
  let closingOnPurpose = false, reconnectTries = 0, lastRepAt = null, watchdog = null;

  const unwantedWord = ex.unwanted.startsWith("eye") ? "eye is narrowing" : "mouth is moving";
  const unit = (u) => (u === "pct" ? "%" : "mm");
  const setStatus = (t) => { statusEl.textContent = t; };
  const localDate = () => { const d = new Date(); return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`; };

  function showBanner(text, withResume) {
    banner.hidden = false;
    banner.textContent = text + " ";
    if (withResume) {
      const b = document.createElement("button");
      b.id = "banner-resume";
      b.textContent = "Resume";
      b.addEventListener("click", () => begin(P.sessionId));
      banner.appendChild(b);
    }
  }
  const hideBanner = () => { banner.hidden = true; banner.textContent = ""; };
  function buttons(running) {
    for (const id of ["start", "resume"]) if ($(id)) $(id).disabled = running;
    $("recalibrate").disabled = !running;
    $("finish").disabled = !running;
  }

  // ---------------------------------------------------------------------------------------- sound
  function unlockAudio() {
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!audio && AC) audio = new AC();  // created on a click, so the browser lets it play
  }
  function beep() {
    P.beeps++;
    if (!$("sound").checked || !audio) return;
    const now = performance.now();
    if (now - lastBeep < 1200) return;
    lastBeep = now;
    const o = audio.createOscillator(), g = audio.createGain();
    o.frequency.value = 660;
    g.gain.value = 0.12;
    o.connect(g).connect(audio.destination);
    o.start();
    o.stop(audio.currentTime + 0.15);
  }

  // --------------------------------------------------------------------------------------- camera
  async function openCamera() {
    try {
      P.stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    } catch (e) {
      promptEl.textContent = "The camera could not be opened: allow camera access for this page and press Resume.";
      return false;
    }
    video.srcObject = P.stream;
    await video.play().catch(() => {});
    for (let i = 0; i < 100 && !video.videoWidth; i++) await new Promise((r) => setTimeout(r, 50));
    const vw = video.videoWidth || 640, vh = video.videoHeight || 480;
    const w = Math.min(FRAME_W, vw);
    canvas.width = w;
    canvas.height = Math.round((w * vh) / vw / 2) * 2;
    ctx2d = canvas.getContext("2d");
    overlay.width = vw;
    overlay.height = vh;
    const track = P.stream.getVideoTracks()[0];
    track.addEventListener("ended", () => cameraLost("The camera stopped"));
    lastFrameAt = performance.now();
    watchFrames();
    return true;
  }

  function stopCamera() {
    if (P.stream) P.stream.getTracks().forEach((t) => t.stop());
    P.stream = null;
    video.srcObject = null;
    ctx2d = null;
  }

  function watchFrames() {
    const stream = P.stream;
    if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) {
      const cb = (now, meta) => {
        if (P.stream !== stream) return;
        onFrame(meta.captureTime || now);
        video.requestVideoFrameCallback(cb);
      };
      video.requestVideoFrameCallback(cb);
    } else {
      const timer = setInterval(() => (P.stream === stream ? onFrame(performance.now()) : clearInterval(timer)), 33);
    }
  }

  function onFrame(captureTime) {
    frameNo++;
    lastCapture = captureTime;
    lastFrameAt = performance.now();
    if (!inFlight) sendFrame(); else pending = true;
  }

  async function sendFrame() {
    const ws = P.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !ctx2d || P.state !== "running") return;
    if (frameNo === sentFrameNo) return;  // nothing new since the last frame sent
    const track = P.stream && P.stream.getVideoTracks()[0];
    if (!track || track.readyState !== "live") return cameraLost("The camera stopped");
    inFlight = true;
    inFlightSince = performance.now();
    pending = false;
    sentFrameNo = frameNo;
    const cap = lastCapture;
    ctx2d.drawImage(video, 0, 0, canvas.width, canvas.height);  // unmirrored: the model sees the camera's frame
    const blob = await new Promise((res) => canvas.toBlob(res, "image/jpeg", QUALITY));
    if (!blob || ws !== P.ws || ws.readyState !== WebSocket.OPEN) { inFlight = false; return; }
    const head = new ArrayBuffer(8);
    new DataView(head).setFloat64(0, cap, true);  // capture time (ms, this page's clock), echoed back
    ws.send(new Blob([head, blob]));
  }

  // ------------------------------------------------------------------------------------ socket
  function connect() {
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/practice/${P.sessionId}`;
    const ws = new WebSocket(url);
    P.ws = ws;
    closingOnPurpose = false;
    inFlight = false;
    ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
    ws.onclose = (ev) => {
      if (P.ws !== ws) return;
      P.ws = null;
      inFlight = false;
      if (closingOnPurpose || P.state === "done" || P.state === "camera_lost") return;
      if (ev.code === 4410 || ev.code === 4409) {
        P.state = "stopped";
        stopCamera();
        buttons(false);
        showBanner(ev.code === 4410 ? "This session is already finished." : "This session was opened in another window.");
        return;
      }
      P.state = "reconnecting";
      buttons(false);
      stage.className = "stage lost";
      if (reconnectTries < 6) {
        showBanner(`Connection lost. Your ${P.reps} repetition${P.reps === 1 ? "" : "s"} so far ${P.reps === 1 ? "is" : "are"} saved. Reconnecting…`);
        setTimeout(() => { if (P.state === "reconnecting") connect(); }, Math.min(8000, 400 * 2 ** reconnectTries++));
      } else {
        showBanner(`Connection lost. Your ${P.reps} repetitions so far are saved.`, true);
      }
    };
  }

  function onMessage(m) {
    if (m.type === "hello") {
      P.hellos.push(m);
      if (m.lines) lines = m.lines;
      if (m.hold_fraction) holdFraction = m.hold_fraction;
      $("bar-wanted").querySelector(".mark").style.left = `${(100 * holdFraction) / MAX_WANTED}%`;
      P.state = "running";
      P.reps = m.reps_done;
      $("reps").textContent = m.reps_done;
      reconnectTries = 0;
      buttons(true);
      if (m.resumed) {
        showBanner(`Resumed: carrying on from ${m.reps_done} repetition${m.reps_done === 1 ? "" : "s"}.`);
        setTimeout(() => { if (P.state === "running") hideBanner(); }, 2500);
      } else hideBanner();
      setStatus(m.calibrated ? "Connected." : "Connected. Calibrating at rest…");
      sendFrame();
    } else if (m.type === "fb") {
      inFlight = false;
      const lat = performance.now() - m.ts;
      P.latencies.push(lat);
      render(m.fb, m.pts, lat, m.ms);
      if (pending) sendFrame();
    } else if (m.type === "complete" || m.type === "finished") {
      done(m.summary, m.type === "complete");
    } else if (m.type === "saved") {
      setStatus(`Saved (${m.summary.reps_done} repetitions).`);
    } else if (m.type === "recalibrating") {
      setStatus("Calibrating again: relax your face and keep still.");
    } else if (m.type === "error") {
      inFlight = false;
      setStatus(m.message);
      if (pending) sendFrame();
    }
  }

  // ---------------------------------------------------------------------------------- feedback
  // The page is redrawn up to 30 times a second: touch the DOM only where something changed, and
  // move the bars with a transform (composited: no layout, no repaint), so a modest laptop keeps up.
  function setText(el, text) {
    if (el.textContent !== text) el.textContent = text;  // reading it costs no layout
  }
  function setBar(id, fraction, over) {
    const bar = $(id), fill = bar.querySelector(".fill");
    const t = `scaleX(${Math.round(Math.max(0, Math.min(1, fraction)) * 400) / 400})`;  // 0.25 % steps
    if (fill.style.transform !== t) fill.style.transform = t;
    if (bar.classList.contains("over") !== !!over) bar.classList.toggle("over", !!over);
  }
  function setClass(el, name) {
    if (el.className !== name) el.className = name;
  }

  function render(fb, pts, lat, serverMs) {
    P.log.push({ t: performance.now(), lat, phase: fb.phase, wanted: fb.wanted, unwanted: fb.unwanted,
                 warning: fb.warning, rep_state: fb.rep_state, reps: fb.reps_done, hold: fb.hold_progress });
    if (fb.reps_done > P.reps) lastRepAt = performance.now();
    P.reps = fb.reps_done;
    setText($("reps"), String(fb.reps_done));
    setText($("hud-reps"), String(fb.reps_done));
    setText($("state"), fb.phase === "practising" ? fb.rep_state : fb.phase === "no_face" ? "no face" : "calibrating");
    if (fb.phase === "calibrating") {
      setClass(stage, "stage calibrating");
      setText(promptEl, `Relax your face and keep still: calibrating ${Math.round(100 * fb.calibration_progress)} %`);
      setBar("bar-wanted", 0);
      setBar("bar-unwanted", 0);
    } else if (fb.phase === "no_face") {
      setClass(stage, "stage lost");
      setText(promptEl, "We cannot see your face: face the camera.");
    } else {
      if (P.log.length > 1 && P.log[P.log.length - 2].phase === "calibrating") setStatus("Calibrated. Go when you are ready.");
      setBar("bar-wanted", fb.wanted_fraction / MAX_WANTED);
      const wd = ex.wanted_unit === "pct" ? 0 : 1;
      // Shown from 0: a movement the other way (or noise below rest) is "none", never a negative number.
      setText($("val-wanted"), `${Math.max(0, +fb.wanted.toFixed(wd) || 0).toFixed(wd)} ${unit(ex.wanted_unit)}`);
      const unwantedBar = $("bar-unwanted");
      if (unwantedBar.classList.contains("blink") !== !!fb.blinking) unwantedBar.classList.toggle("blink", !!fb.blinking);
      if (fb.blinking) {  // both eyes shut: a blink, not the unwanted narrowing (never a 98 % bar)
        setBar("bar-unwanted", 0, false);
        setText($("val-unwanted"), "blink");
      } else {
        setBar("bar-unwanted", fb.unwanted / (2 * fb.threshold), fb.warning);
        const digits = ex.unwanted_unit === "pct" ? 0 : 1;
        setText($("val-unwanted"), `${Math.max(0, +fb.unwanted.toFixed(digits) || 0).toFixed(digits)} ${unit(ex.unwanted_unit)}`);
      }
      setClass(stage, fb.warning ? "stage warn" : "stage ok");
      if (fb.rep_state === "holding") {
        const left = ex.hold_s * (1 - fb.hold_progress);
        setText($("hold"), left.toFixed(1));
        setText(promptEl, fb.hold_progress >= 1 ? "Well held. Now relax slowly." : `Hold… ${Math.ceil(left)} s`);
      } else {
        setText($("hold"), "–");
        if (fb.rep_state === "moving") setText(promptEl, "Slowly and gently…");
        else {
          const restLeft = lastRepAt === null ? 0 : ex.rest_s - (performance.now() - lastRepAt) / 1000;
          setText(promptEl, restLeft > 0 ? `Relax… next one in ${Math.ceil(restLeft)} s` : `Now: ${ex.name.toLowerCase()}.`);
        }
      }
    }
    if (warnEl.hidden === fb.warning) warnEl.hidden = !fb.warning;
    if (fb.warning) setText(warnEl, `Your ${unwantedWord}: soften the movement.`);
    if (fb.warning && !lastWarning) { P.warnings++; beep(); }
    lastWarning = fb.warning;
    drawLandmarks(pts, fb.warning);
    if (P.latencies.length % 30 === 0) {
      const l = P.latencies.slice(-90).sort((a, b) => a - b);
      const span = (P.log[P.log.length - 1].t - P.log[Math.max(0, P.log.length - 90)].t) / 1000;
      latencyEl.textContent = `capture → feedback ${l[Math.floor(l.length / 2)].toFixed(0)} ms (median), ` +
        `${(span > 0 ? (Math.min(90, P.log.length) - 1) / span : 0).toFixed(0)} fps; server ${serverMs} ms`;
    }
  }

  let overlayDrawn = false;
  function drawLandmarks(pts, warning) {
    const g = overlay.getContext("2d");
    const show = pts && $("show-landmarks").checked;
    if (overlayDrawn) g.clearRect(0, 0, overlay.width, overlay.height);  // an untouched canvas costs nothing
    overlayDrawn = !!show;
    if (!show) return;
    const W = overlay.width, H = overlay.height;
    g.lineWidth = Math.max(1, W / 320);
    for (const [name, idx] of Object.entries(lines)) {
      const affectedEye = name.endsWith(`lid_${cfg.affected_side}`);
      g.strokeStyle = affectedEye && warning ? "#ff3030" : "rgba(80, 230, 160, .9)";
      g.fillStyle = g.strokeStyle;
      if (name === "iris") {
        for (const i of idx) { g.beginPath(); g.arc(pts[i][0] * W, pts[i][1] * H, 2 * g.lineWidth, 0, 7); g.fill(); }
        continue;
      }
      g.beginPath();
      idx.forEach((i, k) => (k ? g.lineTo(pts[i][0] * W, pts[i][1] * H) : g.moveTo(pts[i][0] * W, pts[i][1] * H)));
      g.stroke();
    }
  }

  // ------------------------------------------------------------------------- lost, done, start
  function cameraLost(why) {
    if (P.state !== "running" && P.state !== "reconnecting") return;
    P.state = "camera_lost";
    const ws = P.ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ type: "camera_lost" }));
      closingOnPurpose = true;
      setTimeout(() => ws.close(1000, "camera lost"), 300);  // after the server has saved
    }
    stopCamera();
    buttons(false);
    stage.className = "stage lost";
    warnEl.hidden = true;
    showBanner(`${why}. Your ${P.reps} repetition${P.reps === 1 ? "" : "s"} so far ${P.reps === 1 ? "is" : "are"} saved.`, true);
    promptEl.textContent = "Check the camera, then press Resume to carry on.";
  }

  function done(summary, complete) {
    P.state = "done";
    P.summary = summary;
    closingOnPurpose = true;
    stopCamera();
    buttons(false);
    if ($("resume")) $("resume").remove();
    if ($("resume-note")) $("resume-note").remove();
    stage.className = "stage";
    warnEl.hidden = true;
    drawLandmarks(null);
    const clean = summary.reps_without_synkinesis;
    promptEl.textContent = complete
      ? `Done: ${summary.reps_done} of ${summary.reps_prescribed} repetitions, ${clean} without the ${ex.unwanted.startsWith("eye") ? "eye narrowing" : "mouth moving"}.`
      : `Stopped after ${summary.reps_done} of ${summary.reps_prescribed} repetitions.`;
    showSummary(summary, complete);
    setStatus("Session saved.");
  }

  // What the session came to, in words, and how it compares with the last session of this exercise.
  function showSummary(summary, complete) {
    const eye = ex.unwanted.startsWith("eye");
    const stayed = eye ? "Your eye stayed open" : "Your mouth stayed still";
    const pct = (share) => `${Math.round(100 * share)} %`;
    const lines = [complete
      ? `You did all ${summary.reps_done} repetitions.`
      : `You did ${summary.reps_done} of ${summary.reps_prescribed} repetitions.`];
    if (summary.reps_done) {
      lines.push(`${stayed} in ${summary.reps_without_synkinesis} of ${summary.reps_done} (${pct(summary.share_without_synkinesis)}).`);
      lines.push(`You held ${summary.reps_held_full_time} of them for the full ${ex.hold_s} seconds.`);
    }
    const last = cfg.last;
    if (last && last.share_without_synkinesis !== null && last.share_without_synkinesis !== undefined && summary.reps_done) {
      const diff = summary.share_without_synkinesis - last.share_without_synkinesis;
      const verdict = diff >= 0.1 ? "Better than last time." : diff <= -0.1
        ? "Not as good as last time: keep the movement small and slow." : "About the same as last time.";
      const when = new Date(`${last.date}T12:00:00`).toLocaleDateString("en-GB", { day: "numeric", month: "long" });
      lines.push(`Last time (${when}): ${last.reps_without_synkinesis} of ${last.reps_done} (${pct(last.share_without_synkinesis)}). ${verdict}`);
    } else if (summary.reps_done) {
      lines.push("This is your first session of this exercise: next time you will see how it compares.");
    }
    const ul = $("summary-lines");
    ul.textContent = "";
    for (const text of lines) {
      const li = document.createElement("li");
      li.textContent = text;
      ul.appendChild(li);
    }
    $("summary").hidden = false;
    P.summaryLines = lines;
  }
  $("again").addEventListener("click", () => location.reload());

  async function begin(id) {
    P.sessionId = id;
    buttons(true);
    $("recalibrate").disabled = $("finish").disabled = true;
    hideBanner();
    unlockAudio();
    if (!P.stream && !(await openCamera())) { buttons(false); showBanner("No camera.", true); return; }
    P.state = "connecting";
    setStatus("Connecting…");
    connect();
  }

  async function startNew() {
    const r = await fetch(cfg.sessions_url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrfToken() },
      body: JSON.stringify({ exercise: ex.exercise, local_date: localDate() }),
    });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) { setStatus(`Could not start: ${body.detail || r.status}`); return; }
    if ($("resume")) $("resume").remove();
    if ($("resume-note")) $("resume-note").remove();
    await begin(body.id);
  }

  // Landmarks are off unless asked for (drawing them every frame costs the browser as much as the
  // camera picture itself); the choice is remembered on this device.
  const lmBox = $("show-landmarks");
  lmBox.checked = localStorage.getItem("synk.showLandmarks") === "1";
  lmBox.addEventListener("change", () => localStorage.setItem("synk.showLandmarks", lmBox.checked ? "1" : "0"));

  $("start").addEventListener("click", startNew);
  if ($("resume")) $("resume").addEventListener("click", () => begin(Number($("resume").dataset.session)));
  $("recalibrate").addEventListener("click", () => P.ws && P.ws.send(JSON.stringify({ type: "recalibrate" })));
  $("finish").addEventListener("click", () => {
    if (P.ws && P.ws.readyState === WebSocket.OPEN) { closingOnPurpose = true; P.ws.send(JSON.stringify({ type: "finish" })); }
  });

  // Watchdog: a camera that stops delivering frames, or a reply that never comes.
  watchdog = setInterval(() => {
    if (P.state !== "running") return;
    const track = P.stream && P.stream.getVideoTracks()[0];
    if (!track || track.readyState !== "live") return cameraLost("The camera stopped");
    if (performance.now() - lastFrameAt > 4000) return cameraLost("The camera sends no picture");
    if (inFlight && performance.now() - inFlightSince > 5000 && P.ws) P.ws.close();  // stuck: reconnect
  }, 400);
})();
