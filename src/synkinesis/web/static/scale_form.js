// Scale forms (templates/scale_form.html): values prefilled from a recording's estimates stay marked
// "estimate" until the clinician confirms or changes them; the Sunnybrook running scores; the eFACE
// sliders' shown values. No inline script: the page's Content-Security-Policy forbids it.
(function () {
  const form = document.getElementById("scale-form");
  if (!form) return;

  // The row's current value as the form would post it ("" when nothing is chosen).
  function current(row) {
    const checked = row.querySelector("input[type=radio]:checked");
    if (checked) return checked.value;
    const other = row.querySelector("input[type=range], input[type=number]");
    if (!other) return "";
    const use = row.querySelector("input.use");
    return use && !use.checked ? "" : other.value;
  }

  function mark(row, state) {
    row.dataset.state = state;
    const badge = row.querySelector("[data-badge]");
    if (!badge) return;
    badge.textContent = state === "changed" ? "changed from the estimate" : state === "confirmed" ? "confirmed" : "estimate";
    const btn = row.querySelector("[data-confirm-item]");
    if (btn) btn.hidden = state !== "estimate";
  }

  function review(row) {  // the clinician touched this row: same value → confirmed, else changed
    if (row.dataset.estimate === undefined) return;
    mark(row, current(row) === row.dataset.estimate ? "confirmed" : "changed");
    count();
  }

  function count() {
    const box = document.getElementById("est-count");
    if (!box) return;
    const left = form.querySelectorAll("[data-state=estimate]").length;
    box.textContent = left ? `${left} estimate${left > 1 ? "s" : ""} not yet confirmed` : "every estimate confirmed or changed";
  }

  // --- Sunnybrook: sub-scores and composite from the checked cells (the server scores again on save).
  function sunnybrook() {
    const out = document.getElementById("sb-composite");
    if (!out) return;
    const subs = {};
    let missing = 0;
    form.querySelectorAll(".sb-block").forEach((block) => {
      let sum = 0, complete = true;
      block.querySelectorAll(".sb-row").forEach((row) => {
        const c = row.querySelector("input[type=radio]:checked");
        if (c) sum += Number(c.dataset.points); else { complete = false; missing += 1; }
      });
      const value = complete ? sum * Number(block.dataset.weight) : null;
      subs[block.dataset.part] = value;
      const shown = block.querySelector("[data-sub]");
      shown.textContent = value === null ? "complete every row" : String(value);
    });
    const done = ["resting", "voluntary", "synkinesis"].every((k) => subs[k] !== null);
    out.textContent = done ? String(subs.voluntary - subs.resting - subs.synkinesis) : "not yet complete";
    out.dataset.value = done ? String(subs.voluntary - subs.resting - subs.synkinesis) : "";
    document.getElementById("sb-missing").textContent = done ? "" : `${missing} row${missing > 1 ? "s" : ""} still to grade`;
  }

  // --- eFACE: a slider shows its value; moving it counts the item as graded.
  function slider(input) {
    const row = input.closest(".item");
    const use = row.querySelector("input.use");
    const out = row.querySelector("output.slider-value");
    if (out) out.textContent = use && !use.checked ? "not graded" : input.value;
  }

  form.addEventListener("input", (e) => {
    const row = e.target.closest(".item");
    if (!row) return;
    if (e.target.type === "range") {
      const use = row.querySelector("input.use");
      if (use) use.checked = true;
      slider(e.target);
    }
    if (e.target.classList.contains("use")) {
      const range = row.querySelector("input[type=range]");
      if (range) slider(range);
    }
    review(row);
    sunnybrook();
  });
  // A click on the already chosen cell fires no "input": it still confirms the estimate.
  form.addEventListener("click", (e) => {
    if (e.target.matches && e.target.matches("input[type=radio]")) review(e.target.closest(".item"));
    const btn = e.target.closest && e.target.closest("[data-confirm-item]");
    if (btn) { const row = btn.closest(".item"); if (row.dataset.state === "estimate") mark(row, "confirmed"); count(); }
  });
  const all = document.getElementById("confirm-all");
  if (all) all.addEventListener("click", () => {
    form.querySelectorAll("[data-state=estimate]").forEach((row) => mark(row, "confirmed"));
    count();
  });

  form.querySelectorAll("input[type=range]").forEach(slider);
  form.querySelectorAll("[data-state=estimate]").forEach((row) => mark(row, "estimate"));
  count();
  sunnybrook();
  window.__scaleForm = { ready: true };
})();
