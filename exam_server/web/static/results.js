// The body's result page: seal upload (multipart) and certificate ZIPs built in the background with progress.
(function () {
  var form = document.getElementById("seal-form");
  if (form) {
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      window.dk.clearErrors(form);
      var r = await window.dk.api("POST", "/api/v1/body/seal", new FormData(form));
      if (r.ok) { location.reload(); } else { window.dk.showErrors(form, r.data.error); }
    });
  }
  // Certificate ZIPs: start a background job, poll its progress, then download the file.
  var box = document.querySelector("[data-zip-progress]");
  function show(job) {
    box.hidden = false;
    box.querySelector("[data-zip-words]").textContent = job.institution + "：" + job.words;
    box.querySelector("[data-zip-count]").textContent = job.total ? job.done + " / " + job.total + " 份" : "";
    var bar = box.querySelector("[data-zip-bar]");
    bar.value = job.total ? Math.round(100 * job.done / job.total) : 0;
    var err = box.querySelector("[data-zip-error]");
    err.hidden = !job.message; err.textContent = job.message || "";
  }
  async function follow(url) {
    var r = await window.dk.api("GET", url);
    if (!r.ok) { show({ institution: "", words: "", done: 0, total: 0, message: r.data.error.message }); return; }
    show(r.data);
    if (r.data.download) { location.href = r.data.download; return; }
    if (!r.data.finished) { setTimeout(function () { follow(url); }, 1000); }
  }
  document.querySelectorAll("[data-zip]").forEach(function (a) {
    a.addEventListener("click", async function (ev) {
      ev.preventDefault();
      var r = await window.dk.api("POST", "/api/v1/institutions/" + a.dataset.zip + "/certificate-zips", {});
      if (!r.ok) { show({ institution: a.textContent, words: "", done: 0, total: 0, message: r.data.error.message }); return; }
      show(r.data);
      follow("/api/v1/certificate-zips/" + r.data.job);
    });
  });
})();
