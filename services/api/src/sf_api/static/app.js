// Sleepy Factory pages: live updates from /api/events (Server-Sent Events) and small helpers.
// No framework; every value is inserted as text or as server-rendered (escaped) HTML.
"use strict";

(function () {
  const body = document.body;
  const live = body.dataset.live;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const latest = new Map(); // "job/stage" -> highest change number applied

  const selectAll = document.getElementById("select-all");
  if (selectAll) {
    selectAll.addEventListener("change", () => {
      for (const box of document.querySelectorAll('input[name="ids"]')) box.checked = selectAll.checked;
    });
  }
  if (!live) return;

  let pending = null;
  function refreshSoon(fn) {
    // Many changes in a burst: one refresh per second at most.
    if (pending) return;
    pending = setTimeout(() => { pending = null; fn(); }, 300);
  }

  async function replace(url, id, keepIfVideo) {
    const response = await fetch(url, { headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" });
    if (!response.ok) return;
    const html = await response.text();
    const holder = document.createElement("div");
    holder.innerHTML = html; // server-rendered with autoescaping
    const target = document.getElementById(id);
    if (!target) return;
    if (keepIfVideo) {
      const media = target.querySelector("#media");
      const fresh = holder.querySelector("#media");
      if (media && media.dataset.hasVideo === "1" && fresh) fresh.replaceWith(media);
    }
    target.replaceChildren(...holder.childNodes);
  }

  function applyBadge(change) {
    for (const badge of document.querySelectorAll(`.badge[data-job="${change.job_id}"][data-stage="${change.stage}"]`)) {
      for (const cls of [...badge.classList]) if (cls.startsWith("st-")) badge.classList.remove(cls);
      badge.classList.add("st-" + change.status.toLowerCase());
      const bold = badge.querySelector("b");
      if (bold) bold.textContent = change.status;
      badge.title = `${change.stage}: ${change.status}`;
    }
  }

  const jobHead = document.getElementById("job-head");
  const jobId = jobHead ? jobHead.dataset.jobId : null;
  const params = new URLSearchParams();
  if (jobId) params.set("job", jobId);
  if (body.dataset.cursor) params.set("after", body.dataset.cursor);
  const source = new EventSource("/api/events?" + params.toString());
  const dot = document.getElementById("live-dot");
  source.addEventListener("open", () => dot && dot.classList.add("on"));
  source.addEventListener("error", () => dot && dot.classList.remove("on"));
  source.addEventListener("reset", () => window.location.reload());
  source.addEventListener("stage", (event) => {
    const change = JSON.parse(event.data);
    const key = change.job_id + "/" + change.stage;
    if ((latest.get(key) || 0) >= change.seq) return; // a replayed or older state
    latest.set(key, change.seq);
    applyBadge(change);
    if (live === "overview") refreshSoon(() => replace("/fragments/overview", "overview-body", false));
    if (live === "job" && change.job_id === jobId) refreshSoon(() => replace("/fragments/jobs/" + jobId, "job-live", true));
  });
})();
