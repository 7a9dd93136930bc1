// The statistics page: an export runs as a background job with progress, then downloads.
(function () {
  var box = document.querySelector("[data-export-progress]");
  if (!box) { return; }
  document.querySelectorAll("[data-export]").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      window.dk.runJob(box, "/api/v1/exports/" + a.dataset.export + "/jobs", {
        unit: "行", label: function (job) { return job.title || a.textContent; },
        progress: function (job) { return job.progress; } });
    });
  });
})();
