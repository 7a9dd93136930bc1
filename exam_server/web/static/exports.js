// The statistics page: an export runs as a background job with progress, then downloads.
(function () {
  var box = document.querySelector("[data-export-progress]");
  if (!box) { return; }
  function show(job) {
    box.hidden = false;
    box.querySelector("[data-export-words]").textContent = (job.title || "") + "：" + (job.words || "");
    box.querySelector("[data-export-count]").textContent = job.total ? job.done + " / " + job.total + " 行" : "";
    var bar = box.querySelector("[data-export-bar]");
    bar.value = job.total ? Math.round(100 * job.done / job.total) : 0;
    var err = box.querySelector("[data-export-error]");
    err.hidden = !job.message; err.textContent = job.message || "";
  }
  async function follow(url) {
    var r = await window.dk.api("GET", url);
    if (!r.ok) { show({ message: r.data.error.message, done: 0, total: 0 }); return; }
    show(r.data);
    if (r.data.download) { location.href = r.data.download; return; }
    if (!r.data.finished) { setTimeout(function () { follow(url); }, 1000); }
  }
  document.querySelectorAll("[data-export]").forEach(function (a) {
    a.addEventListener("click", async function (ev) {
      ev.preventDefault();
      var r = await window.dk.api("POST", "/api/v1/exports/" + a.dataset.export + "/jobs", {});
      if (!r.ok) { show({ title: a.textContent, message: r.data.error.message, done: 0, total: 0 }); return; }
      show(r.data);
      follow(r.data.progress);
    });
  });
})();
