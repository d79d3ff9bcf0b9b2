// Recording and comparison pages: enlarge a picture in a <dialog>, landmarks on/off on key frames, and the
// video player's measure plot with a cursor at the video's time (drawn from /api/recordings/<id>/frames).
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var marksOn = false;

  // --- enlarge: the link itself opens the full picture when scripts are off
  var box = document.getElementById("lightbox");
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest && ev.target.closest("a.enlarge");
    if (!a || !box || !box.showModal) return;
    ev.preventDefault();
    var img = box.querySelector("img");
    img.src = (marksOn && a.dataset.marks) ? a.dataset.marks : a.getAttribute("href");
    img.alt = (a.querySelector("img") || {}).alt || "Enlarged picture";
    box.showModal();
  });
  if (box) box.addEventListener("click", function (ev) { if (ev.target === box) box.close(); });

  // --- landmarks: off by default; light and thin when on
  var toggle = document.getElementById("show-marks");
  if (toggle) toggle.addEventListener("change", function () {
    marksOn = toggle.checked;
    document.querySelectorAll("#keyframe-list img[data-plain]").forEach(function (img) {
      img.src = (marksOn && img.dataset.marks) ? img.dataset.marks : img.dataset.plain;
    });
  });

  // --- player plot
  var host = document.getElementById("measure-plot");
  var video = document.getElementById("video");
  if (!host || !video) return;

  function el(name, attrs, text) {
    var e = document.createElementNS(SVG, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function nice(v) {  // a round axis maximum: 1, 2, 2.5, 5 × 10^k
    if (!(v > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
    return 10 * p;
  }

  fetch(host.dataset.frames, {credentials: "same-origin"}).then(function (r) {
    if (!r.ok) throw new Error("no data");
    return r.json();
  }).then(function (d) {
    var W = 640, rowH = 130, top = 24, left = 46, right = 10, gap = 26;
    var H = top + d.rows.length * (rowH + gap) + 10;
    var t = d.time_s, tMax = t[t.length - 1] || 1;
    var svg = el("svg", {viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img", class: "player-plot"});
    var x = function (s) { return left + (W - left - right) * s / tMax; };
    d.spans.forEach(function (s) {  // steps or movements, named over their span
      svg.appendChild(el("rect", {x: x(s.start), y: top, width: Math.max(1, x(s.end) - x(s.start)),
        height: H - top - 10, fill: "#eef0f6", class: "span"}));
      svg.appendChild(el("text", {x: (x(s.start) + x(s.end)) / 2, y: 14, "font-size": 10, "text-anchor": "middle",
        class: "span-name"}, s.name));
    });
    d.rows.forEach(function (row, k) {
      var y0 = top + k * (rowH + gap) + 12, vals = [];
      row.series.forEach(function (s) { s.values.forEach(function (v) { if (v !== null) vals.push(v); }); });
      var vMax = nice(Math.max.apply(null, vals.concat([0]))), vMin = Math.min(0, Math.min.apply(null, vals.concat([0])));
      if (vMin < 0) vMin = -nice(-vMin);
      var y = function (v) { return y0 + rowH - (v - vMin) / (vMax - vMin) * rowH; };
      svg.appendChild(el("text", {x: left, y: y0 - 3, "font-size": 11, "font-weight": 600},
        row.title + " (" + row.unit + ")"));
      svg.appendChild(el("line", {x1: left, y1: y0, x2: left, y2: y0 + rowH, stroke: "#99a"}));
      svg.appendChild(el("line", {x1: left, y1: y(vMin), x2: W - right, y2: y(vMin), stroke: "#99a"}));
      svg.appendChild(el("text", {x: left - 4, y: y0 + 8, "font-size": 10, "text-anchor": "end"}, String(vMax)));
      svg.appendChild(el("text", {x: left - 4, y: y(vMin), "font-size": 10, "text-anchor": "end"}, String(vMin)));
      row.series.forEach(function (s, j) {
        var pts = [];
        s.values.forEach(function (v, i) { if (v !== null) pts.push(x(t[i]).toFixed(1) + "," + y(v).toFixed(1)); });
        var attrs = {points: pts.join(" "), fill: "none", stroke: s.colour, "stroke-width": 1.4, class: "series"};
        if (s.dashed) attrs["stroke-dasharray"] = "5 3";
        svg.appendChild(el("polyline", attrs));
        var lx = W - right - 290 + j * 145;
        var leg = {x1: lx, y1: y0 - 7, x2: lx + 16, y2: y0 - 7, stroke: s.colour, "stroke-width": 2};
        if (s.dashed) leg["stroke-dasharray"] = "5 3";
        svg.appendChild(el("line", leg));
        svg.appendChild(el("text", {x: lx + 20, y: y0 - 3, "font-size": 10}, s.name));
      });
    });
    svg.appendChild(el("text", {x: W - right, y: H - 1, "font-size": 10, "text-anchor": "end"}, "time (s)"));
    var cursor = el("line", {id: "plot-cursor", x1: x(0), y1: top, x2: x(0), y2: H - 10, stroke: "#111",
      "stroke-width": 1.5});
    svg.appendChild(cursor);
    host.appendChild(svg);

    function place() {
      var cx = x(Math.min(video.currentTime || 0, tMax)).toFixed(1);
      cursor.setAttribute("x1", cx);
      cursor.setAttribute("x2", cx);
      host.dataset.cursorTime = (video.currentTime || 0).toFixed(2);
    }
    function loop() { place(); if (!video.paused && !video.ended) requestAnimationFrame(loop); }
    video.addEventListener("play", function () { requestAnimationFrame(loop); });
    video.addEventListener("timeupdate", place);
    video.addEventListener("seeked", place);
    svg.addEventListener("click", function (ev) {  // jump the video to the clicked time
      var r = svg.getBoundingClientRect();
      var sx = (ev.clientX - r.left) * W / r.width;
      video.currentTime = Math.max(0, Math.min(tMax, (sx - left) / (W - left - right) * tMax));
    });
    host.dataset.ready = "1";
  }).catch(function () {
    host.textContent = "The measures could not be loaded for the plot.";
  });
})();
