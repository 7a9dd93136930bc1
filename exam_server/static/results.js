// The body's result page: seal upload (multipart) and a note while a certificate ZIP is built.
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
  document.querySelectorAll("[data-zip]").forEach(function (a) {
    a.addEventListener("click", function () {
      var note = document.querySelector("[data-zip-progress]");
      if (note) { note.hidden = false; setTimeout(function () { note.hidden = true; }, 15000); }
    });
  });
})();
