// The body's manual identity verification (/identity/manual): the queue with the registration photo beside
// the failed captures, a decision that confirms in words, and the record of decisions.
(function () {
  "use strict";
  var root = document.getElementById("manual-verification");
  if (!root) return;
  var api = window.dk.api;
  var okBox = root.querySelector("[data-form-ok]"), errBox = root.querySelector("[data-form-error]");
  function time(iso) { return iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : ""; }
  function text(el, value) { el.textContent = value; return el; }

  function entry(item, methods) {
    var node = document.getElementById("manual-entry").content.firstElementChild.cloneNode(true);
    node.dataset.physician = item.physician_id;
    text(node.querySelector("[data-name]"), item.name);
    text(node.querySelector("[data-id]"), item.id_number_masked);
    text(node.querySelector("[data-institution]"), item.institution);
    text(node.querySelector("[data-reason]"), item.reason + (item.since ? "（最近一次 " + time(item.since) + "）" : "") +
         (item.kind ? "，试卷：" + item.kind_words : ""));
    var photo = node.querySelector("[data-photo]");
    if (item.photo_url) { photo.src = item.photo_url; photo.alt = item.name + " 的报名照片"; }
    else { var none = document.createElement("div"); none.className = "no-photo"; none.textContent = "无报名照片"; photo.replaceWith(none); }
    var caps = node.querySelector("[data-captures]");
    item.failed.forEach(function (f, n) {
      f.captures.forEach(function (url, i) {
        var fig = document.createElement("figure"), img = document.createElement("img");
        img.src = url; img.width = 160; img.height = 120; img.loading = "lazy";
        img.alt = "第 " + (n + 1) + " 次核验画面 " + (i + 1);
        fig.appendChild(img);
        fig.appendChild(text(document.createElement("figcaption"), "第 " + (n + 1) + " 次 · " + f.failure_words));
        caps.appendChild(fig);
      });
    });
    if (!caps.children.length) caps.appendChild(text(document.createElement("p"), "没有保存的核验画面（未能登记人脸或画面已过保存期限）")).className = "hint";
    var form = node.querySelector("form"), kind = form.elements.kind, method = form.elements.method;
    if (item.kind) kind.value = item.kind;
    methods.forEach(function (m) { var o = document.createElement("option"); o.value = m.value; o.textContent = m.words; method.appendChild(o); });
    var id = "m" + item.physician_id + (item.kind || "");
    [kind, method, form.elements.note].forEach(function (el) { el.id = id + el.name; });
    node.querySelectorAll("[data-decide]").forEach(function (btn) {
      btn.addEventListener("click", function () { decide(item, form, btn.dataset.decide); });
    });
    return node;
  }

  async function decide(item, form, decision) {
    window.dk.clearErrors(form);
    var values = { kind: form.elements.kind.value, method: form.elements.method.value, note: form.elements.note.value.trim(), decision: decision };
    if (!values.note) { window.dk.showErrors(form, { message: "请填写核验说明", fields: { note: "请填写核验说明" } }); form.elements.note.focus(); return; }
    var kindWords = form.elements.kind.selectedOptions[0].textContent, methodWords = form.elements.method.selectedOptions[0].textContent;
    var verified = decision === "verified";
    var yes = await window.dk.confirmDialog({
      title: verified ? "确认核验通过" : "确认核验不通过",
      lines: [verified ? "确认 " + item.name + "（" + item.institution + "）身份核验通过？通过后该医师可在一日内开始“" + kindWords + "”，无需人脸核验。"
                       : "确认 " + item.name + "（" + item.institution + "）身份核验不通过？该医师仍不能开始“" + kindWords + "”，并会看到您填写的说明。",
              ["核验方式", methodWords], ["核验说明", values.note]],
      ok: verified ? "确认通过" : "确认不通过", danger: !verified });
    if (!yes) return;
    var r = await api("POST", "/api/v1/physicians/" + item.physician_id + "/manual-verification", values);
    if (!r.ok) { window.dk.showErrors(form, r.data.error); return; }
    await load();
    okBox.textContent = "已记录：" + item.name + " 的“" + kindWords + "”" + r.data.words + "（" + methodWords + "）。";
    okBox.hidden = false;
  }

  async function load() {
    var r = await api("GET", "/api/v1/manual-verifications");
    if (!r.ok) { errBox.textContent = r.data.error.message; errBox.hidden = false; return; }
    var box = root.querySelector("[data-queue]"); box.innerHTML = "";
    r.data.items.forEach(function (item) { box.appendChild(entry(item, r.data.methods)); });
    root.querySelector("[data-queue-count]").textContent = "共 " + r.data.items.length + " 名";
    root.querySelector("[data-queue-empty]").hidden = r.data.items.length > 0;
    var body = document.querySelector("#manual-decisions tbody"); body.innerHTML = "";
    r.data.decisions.forEach(function (d) {
      var tr = document.createElement("tr"); tr.dataset.state = d.state;
      [d.name, d.institution, d.kind_words, d.words + (d.used ? "（已开考）" : ""), d.method_words, d.note, d.by, time(d.at)]
        .forEach(function (v, i) { var td = text(document.createElement("td"), v || "—"); if (i === 5) td.className = "wrap"; tr.appendChild(td); });
      body.appendChild(tr);
    });
    if (!r.data.decisions.length) {
      var tr = document.createElement("tr"), td = text(document.createElement("td"), "暂无核验记录"); td.colSpan = 8; tr.appendChild(td); body.appendChild(tr);
    }
  }
  load();
})();
