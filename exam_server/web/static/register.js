// The five registration steps: save (保存), validate and go on (下一步), uploads, lists, counters.
(function () {
  "use strict";
  var dk = window.dk;
  var seg = window.Intl && Intl.Segmenter ? new Intl.Segmenter("zh", { granularity: "grapheme" }) : null;
  function visibleLength(text) {
    text = text.replace(/\r\n/g, "\n");
    if (seg) { var n = 0; for (var _ of seg.segment(text)) n++; return n; }
    return Array.from(text).length;
  }
  document.querySelectorAll("textarea[data-max]").forEach(function (ta) {
    var out = document.querySelector('[data-counter-for="' + ta.name + '"]'), max = Number(ta.dataset.max);
    function update() { var n = visibleLength(ta.value); out.textContent = n + " / " + max + " 字"; out.classList.toggle("over", n > max); }
    ta.addEventListener("input", update); update();
  });

  // 执业范围 depends on 执业类别.
  var category = document.getElementById("category"), scope = document.getElementById("scope");
  if (category && scope) {
    var table = JSON.parse(document.getElementById("scope-table").textContent);
    function fill() {
      var current = scope.value || scope.dataset.current; scope.innerHTML = '<option value="">请选择</option>';
      (table[category.value] || []).forEach(function (s) { var o = document.createElement("option"); o.value = o.textContent = s; if (s === current) o.selected = true; scope.appendChild(o); });
    }
    category.addEventListener("change", fill); fill();
  }

  // Lists of 相关经历 with add/remove.
  document.querySelectorAll("fieldset[data-list]").forEach(function (fs) {
    var tpl = fs.querySelector("template"), box = fs.querySelector(".items");
    function add(values) {
      var node = tpl.content.firstElementChild.cloneNode(true);
      node.querySelectorAll("[data-field]").forEach(function (el) { el.value = (values && values[el.dataset.field]) || ""; });
      node.querySelector("[data-remove]").addEventListener("click", function () { node.remove(); });
      box.appendChild(node);
    }
    JSON.parse(box.dataset.items || "[]").forEach(add);
    fs.querySelector("[data-add]").addEventListener("click", function () { add(null); });
  });

  var procedure = document.querySelectorAll('input[name=procedure]');
  procedure.forEach(function (r) { r.addEventListener("change", function () { document.getElementById("simple-part").hidden = r.value !== "simple" || !r.checked; }); });

  var form = document.getElementById("step-form");
  function collect() {
    var data = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === "file") return;
      if (el.type === "radio") { if (el.checked) data[el.name] = el.value === "true" ? true : el.value === "false" ? false : el.value; else if (!(el.name in data)) data[el.name] = null; return; }
      if (el.dataset.listText !== undefined) { data[el.name] = el.value.split(/[,，、;；]/).map(function (s) { return s.trim(); }).filter(Boolean); return; }
      data[el.name] = el.value;
    });
    form.querySelectorAll("fieldset[data-list]").forEach(function (fs) {
      data[fs.dataset.list] = Array.prototype.map.call(fs.querySelectorAll(".items .item"), function (item) {
        var row = {}; item.querySelectorAll("[data-field]").forEach(function (el) { row[el.dataset.field] = el.value; }); return row;
      });
    });
    var proofs = form.querySelectorAll("[data-proof]");
    if (proofs.length || form.dataset.step === "procedure") data.proof_file_ids = Array.prototype.filter.call(proofs, function (b) { return b.checked; }).map(function (b) { return Number(b.value); });
    if ("photo_file_id" in data) data.photo_file_id = data.photo_file_id ? Number(data.photo_file_id) : null;
    if ("department_id" in data) data.department_id = data.department_id ? Number(data.department_id) : null;
    return data;
  }
  async function send(complete) {
    dk.clearErrors(form);
    var ok = form.querySelector("[data-form-ok]"); ok.hidden = true;
    var r = await dk.api("POST", "/api/v1/registration/steps/" + form.dataset.step, { data: collect(), complete: complete });
    if (!r.ok) { dk.showErrors(form, r.data.error); var first = form.querySelector("[aria-invalid=true]"); if (first) first.scrollIntoView({ block: "center" }); return false; }
    if (!complete) { ok.textContent = "已保存"; ok.hidden = false; }
    return true;
  }
  if (form) {
    form.querySelector("[data-save]").addEventListener("click", function () { send(false); });
    form.querySelector("[data-next-step]").addEventListener("click", async function () { if (await send(true)) location.href = form.dataset.next; });
  }

  async function upload(url, field, file) {
    var fd = new FormData(); fd.append(field, file, file.name);
    return dk.api("POST", url, fd);
  }
  var photoInput = document.getElementById("photo-input");
  if (photoInput) photoInput.addEventListener("change", async function () {
    if (!photoInput.files.length) return;
    dk.clearErrors(form);
    var r = await upload("/api/v1/registration/photo", "photo", photoInput.files[0]);
    photoInput.value = "";
    if (!r.ok) { dk.showErrors(form, r.data.error); return; }
    form.elements.photo_file_id.value = r.data.id;
    var preview = document.getElementById("photo-preview");
    preview.src = r.data.url; preview.hidden = false;
    var empty = document.querySelector("[data-photo-empty]"); if (empty) empty.hidden = true;
    var ok = form.querySelector("[data-form-ok]"); ok.textContent = "照片已上传，检测到一张人脸"; ok.hidden = false;
  });
  var proofInput = document.getElementById("proof-input");
  if (proofInput) proofInput.addEventListener("change", async function () {
    dk.clearErrors(form);
    for (var i = 0; i < proofInput.files.length; i++) {
      var file = proofInput.files[i];
      var r = await upload("/api/v1/registration/proofs", "proof", file);
      if (!r.ok) { dk.showErrors(form, r.data.error); break; }
      var li = document.createElement("li"); li.dataset.id = r.data.id;
      li.innerHTML = '<label><input type="checkbox" data-proof checked> <a target="_blank"></a></label> <button type="button" class="btn small danger">删除</button>';
      li.querySelector("button").dataset.deleteFile = r.data.id;
      li.querySelector("input").value = r.data.id; var a = li.querySelector("a"); a.href = r.data.url; a.textContent = r.data.name;
      document.getElementById("proof-list").appendChild(li);
    }
    proofInput.value = "";
  });

  var submit = document.querySelector("[data-submit-registration]");
  if (submit) submit.addEventListener("click", async function () {
    if (!await dk.confirmDialog({ title: "提交报名信息", lines: ["提交后将由所在机构审核，审核期间不能修改。确认提交？"], ok: "确认提交" })) return;
    submit.disabled = true;
    var r = await dk.api("POST", "/api/v1/registration/submit");
    if (r.ok) { location.href = "/"; return; }
    var box = document.querySelector("[data-form-error]"); box.textContent = r.data.error.message; box.hidden = false; submit.disabled = false;
  });
})();
