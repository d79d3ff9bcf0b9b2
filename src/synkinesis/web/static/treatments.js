// Injection-map editor (treatment_form.html). Data from <script type="application/json" id="treatment-config">;
// the strict CSP forbids inline scripts and handlers, so everything is wired here.
(function () {
  "use strict";
  const cfgEl = document.getElementById("treatment-config");
  const host = document.getElementById("map-host");
  if (!cfgEl || !host) return;
  const cfg = JSON.parse(cfgEl.textContent);
  const NS = "http://www.w3.org/2000/svg";
  const S = 1000; // template units → SVG units
  const V = cfg.vocabulary;
  const muscleLabel = Object.fromEntries(V.muscles.map(m => [m.key, m.label]));
  const tbody = document.querySelector("#points tbody");
  const status = document.getElementById("map-status");
  const productSel = document.getElementById("product");
  let points = (cfg.points || []).map(p => Object.assign({}, p));
  let problems = cfg.problems || {};
  const cursor = { u: 0.5, v: 0.45 };

  function el(tag, attrs, parent) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  // --- the face
  const t = cfg.template;
  const svg = el("svg", { viewBox: "0 -20 1000 1100", class: "face-map", id: "map-editor", tabindex: "0", role: "application",
    "aria-label": "Face map: click or use the arrow keys and Enter to place an injection point. The patient's right is on the left." });
  el("rect", { x: 0, y: -20, width: 1000, height: 1100, class: "face-bg" }, svg);
  for (const e of t.outline_edges) {
    const a = t.points[e[0]], b = t.points[e[1]];
    el("line", { x1: a[0] * S, y1: a[1] * S, x2: b[0] * S, y2: b[1] * S, class: "face-line" }, svg);
  }
  for (const name in t.features) {
    el("polyline", { points: t.features[name].map(p => `${p[0] * S},${p[1] * S}`).join(" "), class: "face-feature" }, svg);
  }
  const lr = el("text", { x: 20, y: 1060, class: "face-label" }, svg); lr.textContent = "patient's right";
  const ll = el("text", { x: 980, y: 1060, class: "face-label", "text-anchor": "end" }, svg); ll.textContent = "patient's left";
  const dots = el("g", { class: "face-points" }, svg);
  const cur = el("g", { class: "cursor" }, svg);
  el("line", { x1: -15, y1: 0, x2: 15, y2: 0 }, cur); el("line", { x1: 0, y1: -15, x2: 0, y2: 15 }, cur);
  host.appendChild(svg);

  function moveCursor() { cur.setAttribute("transform", `translate(${cursor.u * S} ${cursor.v * S})`); }
  moveCursor();

  svg.addEventListener("click", ev => {
    const pt = svg.createSVGPoint(); pt.x = ev.clientX; pt.y = ev.clientY;
    const p = pt.matrixTransform(svg.getScreenCTM().inverse());
    cursor.u = p.x / S; cursor.v = p.y / S; moveCursor();
    place(cursor.u, cursor.v);
  });
  svg.addEventListener("keydown", ev => {
    const step = ev.shiftKey ? 0.05 : 0.01;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[ev.key]) {
      cursor.u = Math.min(1, Math.max(0, cursor.u + moves[ev.key][0]));
      cursor.v = Math.min(1.1, Math.max(-0.02, cursor.v + moves[ev.key][1]));
      moveCursor(); ev.preventDefault();
      status.textContent = `Cross at ${(cursor.u * 100).toFixed(0)} % across, ${(cursor.v * 100).toFixed(0)} % down`;
    } else if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault(); place(cursor.u, cursor.v);
    }
  });

  async function place(u, v) {
    u = Math.round(u * 10000) / 10000; v = Math.round(v * 10000) / 10000;
    let s;
    try {
      const r = await fetch(`${cfg.suggest_url}?u=${u}&v=${v}`, { credentials: "same-origin" });
      s = await r.json();
      if (!r.ok) throw new Error(s.detail || r.status);
    } catch (e) { status.textContent = "Could not check the position: " + e.message; return; }
    if (!s.on_face && !s.neck) { status.textContent = "That point is off the face: place it on the face (platysma: just below the jaw)."; return; }
    const best = s.suggestions[0] || { muscle: "other", side: s.side };
    const side = best.side;
    points.push({ muscle: best.muscle, side, purpose: side === cfg.affected_side || side === "midline" ? "synkinesis" : "balancing",
                  units: 2.5, volume_ml: "", approach: "transcutaneous", muscle_other: "", u, v });
    status.textContent = `Point ${points.length} placed: ${muscleLabel[best.muscle]} (suggested), patient's ${side}. Check the muscle and units.`;
    problems = {};
    render();
  }

  function select(name, options, value) {
    const s = document.createElement("select"); s.name = name;
    for (const [k, label] of options) { const o = document.createElement("option"); o.value = k; o.textContent = label; if (k === value) o.selected = true; s.appendChild(o); }
    return s;
  }
  function input(name, value, size) {
    const i = document.createElement("input"); i.name = name; i.value = value == null ? "" : value; i.size = size || 5; i.inputMode = "decimal";
    return i;
  }
  function render() {
    tbody.textContent = "";
    points.forEach((p, i) => {
      const tr = document.createElement("tr");
      const cell = (node, field) => {
        const td = document.createElement("td"); td.appendChild(node);
        const msg = problems[`points[${i}].${field}`];
        if (msg) { const sp = document.createElement("span"); sp.className = "field-error"; sp.textContent = msg; td.appendChild(sp); }
        tr.appendChild(td); return td;
      };
      const num = document.createElement("td"); num.textContent = i + 1; tr.appendChild(num);
      const m = cell(select(`points-${i}-muscle`, V.muscles.map(x => [x.key, x.label]), p.muscle), "muscle");
      const mo = input(`points-${i}-muscle_other`, p.muscle_other, 10); mo.placeholder = "muscle's name"; mo.inputMode = "text";
      mo.hidden = p.muscle !== "other"; m.appendChild(mo);
      m.querySelector("select").addEventListener("change", ev => { mo.hidden = ev.target.value !== "other"; });
      cell(select(`points-${i}-side`, Object.entries(V.point_sides), p.side), "side");
      cell(select(`points-${i}-purpose`, Object.entries(V.purposes), p.purpose), "purpose");
      cell(input(`points-${i}-units`, p.units), "units");
      cell(input(`points-${i}-volume_ml`, p.volume_ml), "volume_ml");
      const ap = cell(select(`points-${i}-approach`, Object.entries(V.approaches), p.approach), "approach");
      for (const f of ["u", "v"]) { const h = document.createElement("input"); h.type = "hidden"; h.name = `points-${i}-${f}`; h.value = p[f] == null ? "" : p[f]; ap.appendChild(h); }
      const pm = problems[`points[${i}].position`] || problems[`points[${i}]`];
      if (pm) { const sp = document.createElement("span"); sp.className = "field-error"; sp.textContent = pm; ap.appendChild(sp); }
      const del = document.createElement("button"); del.type = "button"; del.textContent = "Remove"; del.setAttribute("aria-label", `Remove point ${i + 1}`);
      del.addEventListener("click", () => { points.splice(i, 1); problems = {}; render(); });
      const td = document.createElement("td"); td.appendChild(del); tr.appendChild(td);
      tr.addEventListener("input", ev => { const f = ev.target.name.split("-")[2]; p[f] = ev.target.value; update(); });
      tr.addEventListener("change", ev => { const f = ev.target.name.split("-")[2]; p[f] = ev.target.value; update(); });
      tbody.appendChild(tr);
    });
    update();
  }

  function fmt(x) { return (Math.round(x * 100) / 100).toString(); }
  function update() {
    dots.textContent = "";
    points.forEach((p, i) => {
      if (p.u == null || p.u === "") return;
      const c = el("circle", { cx: p.u * S, cy: p.v * S, r: 18, class: `pt pt-${p.purpose}` }, dots);
      el("title", {}, c).textContent = `${i + 1}: ${muscleLabel[p.muscle] || p.muscle}, ${p.side}, ${p.units} U`;
      const n = el("text", { x: p.u * S, y: p.v * S + 7, class: "pt-num", "text-anchor": "middle" }, dots); n.textContent = i + 1;
    });
    const product = productSel ? productSel.value : cfg.product;
    const lim = cfg.limits[product] || {};
    const side = {}, muscle = {}, sidePurpose = {};
    let total = 0; const warn = [];
    points.forEach((p, i) => {
      const u = parseFloat(p.units);
      if (!isFinite(u)) return;
      total += u;
      side[p.side] = (side[p.side] || 0) + u;
      const mk = `${muscleLabel[p.muscle] || p.muscle} (${p.side})`; muscle[mk] = (muscle[mk] || 0) + u;
      const sp = `${p.side}|${p.purpose}`; sidePurpose[sp] = (sidePurpose[sp] || 0) + u;
      if (u <= 0) warn.push(`Point ${i + 1}: units must be more than 0.`);
      else if (lim.site_ceiling && u > lim.site_ceiling.units) warn.push(`Point ${i + 1}: ${fmt(u)} U is over the ceiling of ${lim.site_ceiling.units} U per site; it will be refused.`);
      else if (lim.site_warn && u > lim.site_warn.units) warn.push(`Point ${i + 1}: ${fmt(u)} U is above ${lim.site_warn.units} U per site (${lim.site_warn.source}).`);
    });
    for (const k in sidePurpose) {
      const [s, pu] = k.split("|"); const l = (lim.side_warn || {})[pu];
      if (l && s !== "midline" && sidePurpose[k] > l.units) warn.push(`${fmt(sidePurpose[k])} U for ${pu} on the patient's ${s} is above ${l.units} U (${l.source}).`);
    }
    if (lim.session_ceiling && total > lim.session_ceiling.units) warn.push(`The session totals ${fmt(total)} U, over the ceiling of ${lim.session_ceiling.units} U; it will be refused.`);
    else if (lim.session_warn && total > lim.session_warn.units) warn.push(`The session totals ${fmt(total)} U, above ${lim.session_warn.units} U (${lim.session_warn.source}).`);
    const unit = (V.products.find(x => x.key === product) || {}).unit || "U";
    const box = document.getElementById("totals-live");
    box.textContent = "";
    const h = document.createElement("h3"); h.textContent = `Totals, ${unit}`; box.appendChild(h);
    const tab = document.createElement("table"); tab.className = "list"; tab.id = "totals-table";
    const row = (a, b, id) => { const tr = tab.insertRow(); const th = document.createElement("th"); th.textContent = a; tr.appendChild(th); const td = tr.insertCell(); td.textContent = b; if (id) td.id = id; };
    row("Session", `${fmt(total)} in ${points.length} points`, "total-session");
    for (const s of ["right", "left", "midline"]) if (side[s] != null) row(`Patient's ${s}${s === cfg.affected_side ? " (affected)" : s === "midline" ? "" : " (healthy)"}`, fmt(side[s]), `total-${s}`);
    for (const k of Object.keys(muscle).sort()) row(k, fmt(muscle[k]));
    box.appendChild(tab);
    const w = document.getElementById("dose-warnings");
    w.hidden = !warn.length; w.textContent = "";
    for (const x of warn) { const p = document.createElement("p"); p.textContent = x; w.appendChild(p); }
  }
  if (productSel) productSel.addEventListener("change", update);
  const copy = document.getElementById("copy-last");
  if (!cfg.last_map.length) { copy.disabled = true; copy.title = "No earlier Botox session of this patient"; }
  else copy.textContent = `Copy the last session's map (${cfg.last_date})`;
  copy.addEventListener("click", () => {
    points = cfg.last_map.map(p => ({ muscle: p.muscle, side: p.side, purpose: p.purpose, units: p.units, volume_ml: p.volume_ml == null ? "" : p.volume_ml,
      approach: p.approach, muscle_other: p.muscle_other || "", u: p.u, v: p.v }));
    problems = {};
    status.textContent = `Copied ${points.length} points from ${cfg.last_date}; check the units.`;
    render();
  });
  render();
})();
