// Shared helpers: the CSRF token (from the page) for fetch(), and polling an analysis job.
function csrfToken() { return document.querySelector('meta[name="csrf-token"]').content; }

function pollJob() {
  const box = document.getElementById("job");
  if (!box || !["queued", "running"].includes(box.dataset.status)) return;
  const id = box.dataset.recording;
  const tick = async () => {
    const r = await fetch(`/api/recordings/${id}/status`, { headers: { Accept: "application/json" } });
    if (!r.ok) return setTimeout(tick, 2000);
    const s = await r.json();
    const bar = document.getElementById("job-progress");
    if (bar) { bar.value = s.progress; document.getElementById("job-pct").textContent = Math.round(s.progress * 100) + "%"; }
    const state = document.getElementById("job-state");
    if (state) state.textContent = s.status;
    if (s.status === "done" || s.status === "failed") return location.reload();  // server renders the result
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 700);
}

// Wired here, not in the pages: the Content-Security-Policy allows no inline script or handler.
document.addEventListener("submit", (e) => {
  const msg = e.target.dataset && e.target.dataset.confirm;
  if (msg && !confirm(msg)) e.preventDefault();
});
document.addEventListener("DOMContentLoaded", pollJob);
document.addEventListener("click", (e) => {
  const back = e.target.closest && e.target.closest("a[data-back]");
  if (back && history.length > 1) { e.preventDefault(); history.back(); }
});
