// Question banks (import with preview, browse, export), question editing, paper definitions.
(function () {
  "use strict";
  var dk = window.dk;
  var FORMATS = { xlsx: "Excel 模板", csv: "CSV 模板", aiken: "Aiken", gift: "GIFT", moodle_xml: "Moodle XML", qti21: "QTI 2.1", text: "纯文本", demo: "演示" };
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined && text !== null) e.textContent = text; if (cls) e.className = cls; return e; }
  function show(box, text) { if (!box) return; box.textContent = text || ""; box.hidden = !text; }
  function errorOf(r) { return (r.data && r.data.error) || { message: "操作失败（" + r.status + "）" }; }

  // Bank list: export in the chosen format (a download, or the reason it cannot be exported).
  document.querySelectorAll("[data-export]").forEach(function (btn) {
    btn.addEventListener("click", async function () {
      var fmt = btn.parentNode.querySelector("select").value, box = document.querySelector("[data-bank-error]");
      show(box, "");
      btn.disabled = true;
      try {
        var url0 = "/api/v1/admin/question-banks/" + btn.dataset.export + "/export?format=" + encodeURIComponent(fmt);
        var res = await fetch(url0, { credentials: "same-origin", headers: { "Accept": "application/json" } });
        if (!res.ok) {
          var data = {}; try { data = await res.json(); } catch (e) { /* not JSON */ }
          var err = data.error || {};
          // The format would drop pictures: say so, and export only when the admin accepts it.
          if (err.fields && err.fields.drop_images && await dk.confirmDialog({ title: "导出后图片将丢失", ok: "仍然导出", cancel: "换一种格式",
                lines: [err.message, "所选格式不能保存图片：导出的文件里这些试题没有图片，题库本身不受影响。"] })) {
            res = await fetch(url0 + "&drop_images=1", { credentials: "same-origin", headers: { "Accept": "application/json" } });
            if (!res.ok) { data = {}; try { data = await res.json(); } catch (e) { /* not JSON */ } show(box, (data.error && data.error.message) || "导出失败（" + res.status + "）"); return; }
          } else { show(box, err.message || "导出失败（" + res.status + "）"); return; }
        }
        var name = "题库导出", cd = res.headers.get("Content-Disposition") || "", m = cd.match(/filename\*=UTF-8''([^;]+)/);
        if (m) name = decodeURIComponent(m[1]);
        var url = URL.createObjectURL(await res.blob()), a = el("a"); a.href = url; a.download = name;
        document.body.appendChild(a); a.click(); a.remove(); setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
      } catch (e) { show(box, "网络连接失败，请检查网络后重试"); }
      finally { btn.disabled = false; }
    });
  });

  // Import as a background job: upload, the server reads (preview), the admin confirms, the
  // server stores; the page polls the job, so a reload (or another tab) picks it up again.
  var importForm = document.getElementById("import-form");
  if (importForm) {
    var jobBox = document.getElementById("import-job"), previewBox = document.getElementById("import-preview");
    var okBox = document.getElementById("import-ok"), jobErr = jobBox.querySelector("[data-job-error]");
    var confirmBtn = jobBox.querySelector("[data-import-confirm]"), cancelBtn = jobBox.querySelector("[data-job-cancel]");
    var newBtn = jobBox.querySelector("[data-job-new]"), skipBox = jobBox.querySelector("[data-skip]");
    var bar = jobBox.querySelector("[data-job-bar]"), job = null, timer = null;
    var RUNNING = { previewing: 1, importing: 1 };
    function checkInputs() {
      var fields = {};
      if (!importForm.elements.bank.value.trim()) fields.bank = "请填写题库名称";
      var file = importForm.elements.file.files[0];
      if (!file) fields.file = "请选择试题文件";
      else if (file.size > 50 * 1024 * 1024) fields.file = "试题文件不能超过 50 MB";
      if (Object.keys(fields).length) { dk.showErrors(importForm, { message: Object.values(fields).join("；"), fields: fields }); return false; }
      return true;
    }
    function renderProblems(problems, count) {
      var wrap = document.getElementById("preview-problems"), list = wrap.querySelector("ol"); list.innerHTML = "";
      (problems || []).forEach(function (p) { list.appendChild(el("li", p.message)); });
      wrap.querySelector("[data-problem-count]").textContent = count;
      wrap.querySelector("[data-problem-more]").textContent = count > (problems || []).length ? "（下面列出前 " + problems.length + " 处）" : "";
      wrap.querySelector("[data-report]").href = "/api/v1/admin/import-jobs/" + job.id + "/problems.csv";
      wrap.hidden = !count;
    }
    function renderPreview(p) {
      var sum = document.getElementById("preview-summary"); sum.innerHTML = "";
      [["格式", FORMATS[p.format] || p.format], ["共读到", p.total + " 道"], ["将新增", p.would_create + " 道"],
       ["已在题库中（跳过）", p.already_in_bank + " 道"], ["文件内重复", p.duplicates_in_file.length + " 组"]].forEach(function (kv) {
        sum.appendChild(el("span", kv[0] + "：" + kv[1]));
      });
      if (p.enemies_named) sum.appendChild(el("span", "文件中的互斥题：" + p.enemies_named + " 对"));
      Object.keys(p.by_type || {}).forEach(function (t) { sum.appendChild(el("span", t + " " + p.by_type[t] + " 道", "hint")); });
      renderPreviewCues(p.cueing);
      if (!p.bank_exists && job.state === "previewed") sum.appendChild(el("span", "将新建题库“" + p.bank + "”", "notice"));
      renderProblems(p.problems, p.problem_count || 0);
      var body = document.querySelector("#preview-table tbody"); body.innerHTML = "";
      (p.first || []).forEach(function (q) {
        var tr = el("tr"), opts = (q.options && q.options.length ? q.options : (q.group && q.group.options) || []);
        var key = q.type === "TF" ? (q.key[0] === "T" ? "正确" : "错误") : q.key.join("");
        var stem = (q.group && q.group.stem ? "【" + q.group.stem + "】" : "") + q.stem;
        [q.source_ref || "", q.type_label || "", stem, opts.map(function (o) { return o.label + ". " + o.text; }).join("  "), key, q.points, q.category].forEach(function (t, i) {
          tr.appendChild(el("td", t, i === 2 || i === 3 ? "stem" : ""));
        });
        body.appendChild(tr);
      });
      if (p.total > (p.first || []).length) { var more = el("tr"), td = el("td", "……仅显示前 " + p.first.length + " 道", "hint"); td.colSpan = 7; more.appendChild(td); body.appendChild(more); }
      previewBox.hidden = false;
    }
    // Likely cueing pairs found at preview: ticked ones are stored as enemies with the import.
    var cueBox = document.getElementById("preview-cueing"), cueChecks = [];
    var cueAllBox = cueBox.querySelector("[data-cue-all]");
    function renderPreviewCues(c) {
      var list = cueBox.querySelector("[data-cue-list]"), note = cueBox.querySelector("[data-cue-note]");
      var keep = {}; cueChecks.forEach(function (x) { if (x.box.checked) keep[x.key] = 1; });
      list.innerHTML = ""; cueChecks = [];
      c = c || { pairs: [], total: 0 };
      show(note, c.note || "");
      (c.pairs || []).forEach(function (p) {
        var key = p.teller.fingerprint + "|" + p.told.fingerprint, li = el("li"), label = el("label", null, "check"), box = el("input");
        box.type = "checkbox"; box.checked = !!keep[key]; box.disabled = job.state !== "previewed";
        var text = el("div");
        [p.teller, p.told].forEach(function (q, i) {
          text.appendChild(document.createTextNode((q.where || "") + " · " + q.type_label + "：" + q.stem));
          text.appendChild(el("br"));
          if (i === 0) { text.appendChild(el("span", "↑ " + p.reason + " ↓", "hint")); text.appendChild(el("br")); }
        });
        label.appendChild(box); label.appendChild(text); li.appendChild(label); list.appendChild(li);
        cueChecks.push({ key: key, box: box, pair: [p.teller.fingerprint, p.told.fingerprint] });
      });
      cueBox.querySelector("[data-cue-count]").textContent = c.total ? c.total + " 对" + (c.total > c.pairs.length ? "（列出前 " + c.pairs.length + " 对）" : "") : "";
      cueBox.querySelector("[data-cue-all-wrap]").hidden = !cueChecks.length || job.state !== "previewed";
      cueAllBox.checked = cueChecks.length > 0 && cueChecks.every(function (x) { return x.box.checked; });
      cueBox.hidden = !c.total && !c.note;
    }
    cueAllBox.addEventListener("change", function () { cueChecks.forEach(function (x) { x.box.checked = cueAllBox.checked; }); });
    function render(j) {
      job = j; jobBox.hidden = false; show(jobErr, ""); show(okBox, "");
      jobBox.querySelector("[data-job-title]").textContent = "“" + j.filename + "” → 题库“" + j.bank_name + "”";
      jobBox.querySelector("[data-job-state]").textContent = j.state_label;
      var pr = j.progress, text = "";
      bar.hidden = !RUNNING[j.state];
      if (pr && j.state === "previewing") { text = "已读取 " + pr.read + " 道" + (pr.problems ? "，发现问题 " + pr.problems + " 处" : ""); bar.removeAttribute("value"); }
      if (pr && j.state === "importing") { text = "已存入 " + pr.read + " / " + pr.total + " 道"; bar.value = pr.total ? Math.round(100 * pr.read / pr.total) : 0; }
      jobBox.querySelector("[data-job-progress]").textContent = text;
      if (j.preview && j.state !== "previewing") renderPreview(j.preview); else previewBox.hidden = true;
      var p = j.preview || {}, canSkip = j.state === "previewed" && p.can_skip;
      jobBox.querySelector("[data-skip-wrap]").hidden = !canSkip;
      jobBox.querySelector("[data-skip-count]").textContent = p.would_create || 0;
      // All or nothing stays the default for the Chinese template; files from other systems
      // (Moodle, GIFT, QTI ...) usually hold some unsupported questions, so skipping is offered ticked.
      if (canSkip && !skipBox.dataset.touched) skipBox.checked = ["xlsx", "csv"].indexOf(j.format) < 0;
      confirmBtn.hidden = !(j.state === "previewed" && (p.ok || canSkip) && p.would_create > 0);
      confirmBtn.disabled = canSkip && !p.ok && !skipBox.checked;
      cancelBtn.hidden = !(RUNNING[j.state] || j.state === "previewed");
      newBtn.hidden = !!RUNNING[j.state];
      if (j.state === "previewed" && p.ok && !p.would_create) show(okBox, "文件中的试题都已在题库中，无需导入");
      if (j.state === "previewed" && !p.ok && !canSkip) show(jobErr, "文件有误，改正后重新上传才能导入");
      if (j.state === "done") {
        var o = j.outcome;
        show(okBox, "已导入到题库“" + o.bank_name + "”：新增 " + o.created + " 道，跳过重复 " + o.duplicates + " 道" + (o.enemies ? "，新增互斥题 " + o.enemies + " 对" : "") + (o.skipped ? "，跳过有问题的试题（见问题清单）" : ""));
      }
      if (j.state === "failed" || j.state === "cancelled") show(jobErr, j.message || j.state_label);
      clearTimeout(timer);
      if (RUNNING[j.state]) timer = setTimeout(poll, 1000);
    }
    async function poll() {
      if (!job) return;
      try {
        var r = await dk.api("GET", "/api/v1/admin/import-jobs/" + job.id);
        if (r.ok) render(r.data); else timer = setTimeout(poll, 3000);
      } catch (e) { timer = setTimeout(poll, 3000); }
    }
    skipBox.addEventListener("change", function () { skipBox.dataset.touched = "1"; if (job) render(job); });
    importForm.addEventListener("submit", async function (ev) {
      ev.preventDefault(); dk.clearErrors(importForm);
      if (!checkInputs()) return;
      var btn = importForm.querySelector("[type=submit]"); btn.disabled = true; btn.textContent = "正在上传…";
      try {
        var file = importForm.elements.file.files[0], fd = new FormData();
        fd.append("file", file, file.name);
        var r = await dk.api("POST", "/api/v1/admin/import-jobs?" + new URLSearchParams({ bank: importForm.elements.bank.value.trim() }).toString(), fd);
        if (!r.ok) { dk.showErrors(importForm, errorOf(r)); return; }
        delete skipBox.dataset.touched; render(r.data);
      } catch (e) { dk.showErrors(importForm, { message: "网络连接失败，请检查网络后重试" }); }
      finally { btn.disabled = false; btn.textContent = "上传并预览"; }
    });
    confirmBtn.addEventListener("click", async function () {
      if (!job) return;
      confirmBtn.disabled = true;
      var pairs = cueChecks.filter(function (x) { return x.box.checked; }).map(function (x) { return x.pair; });
      var r = await dk.api("POST", "/api/v1/admin/import-jobs/" + job.id + "/start", { skip_unsupported: !skipBox.hidden && skipBox.checked, enemy_pairs: pairs });
      if (!r.ok) { show(jobErr, errorOf(r).message); confirmBtn.disabled = false; return; }
      render(r.data);
    });
    cancelBtn.addEventListener("click", async function () {
      if (!job) return;
      if (!await dk.confirmDialog({ title: "取消这次导入？", ok: "取消导入", cancel: "继续导入", danger: true,
            lines: ["这次上传的试题都不会写入题库（导入在一个事务中完成，取消即全部撤销）；需要时可重新上传。"] })) return;
      var r = await dk.api("POST", "/api/v1/admin/import-jobs/" + job.id + "/cancel", {});
      if (!r.ok) { show(jobErr, errorOf(r).message); return; }
      render(r.data);
    });
    newBtn.addEventListener("click", function () { clearTimeout(timer); job = null; jobBox.hidden = true; importForm.reset(); });
    // After a reload: pick up the latest job still running or waiting for confirmation.
    (async function resume() {
      var r = await dk.api("GET", "/api/v1/admin/import-jobs");
      if (!r.ok) return;
      var open = r.data.items.filter(function (j) { return RUNNING[j.state] || j.state === "previewed"; })[0];
      if (open) render(open);
    })();
  }

  // Browse and search one bank.
  var browse = document.getElementById("browse-form");
  if (browse) {
    var table = document.getElementById("questions"), page = 1, size = 30, total = 0;
    var bOk = document.querySelector("[data-browse-ok]"), bErr = document.querySelector("[data-browse-error]");
    async function loadCategories() {
      var sel = browse.elements.category; sel.length = 1;
      var r = await dk.api("GET", "/api/v1/admin/question-banks/" + browse.elements.bank_id.value + "/categories");
      if (!r.ok) return;
      r.data.items.forEach(function (c) {
        var depth = c.category.split("/").length - 1, o = el("option", "\u3000".repeat(depth) + c.category.split("/").pop() + "（" + c.count + "）");
        o.value = c.category; sel.appendChild(o);
      });
    }
    async function load() {
      show(bErr, "");
      var q = new URLSearchParams({ category: browse.elements.category.value, type: browse.elements.type.value, status: browse.elements.status.value,
                                    q: browse.elements.q.value, page: String(page), size: String(size) });
      var r = await dk.api("GET", "/api/v1/admin/question-banks/" + browse.elements.bank_id.value + "/questions?" + q.toString());
      var body = table.querySelector("tbody"); body.innerHTML = "";
      if (!r.ok) { show(bErr, errorOf(r).message); return; }
      total = r.data.total;
      r.data.items.forEach(function (it) {
        var tr = el("tr"); if (it.retired) tr.className = "retired"; tr.dataset.questionId = it.id;
        [it.code ? it.id + " · " + it.code : it.id, it.type_label, it.category, it.stem, it.difficulty || ""].forEach(function (t, i) { tr.appendChild(el("td", t, i === 3 ? "stem" : "")); });
        var act = el("td"), edit = el("a", "修改", "btn small"); edit.href = "/admin/questions/" + it.id; act.appendChild(edit);
        var toggle = el("button", it.retired ? "恢复" : "停用", "btn small" + (it.retired ? "" : " danger")); toggle.type = "button";
        toggle.addEventListener("click", async function () {
          if (!it.retired && !await dk.confirmDialog({ title: "停用试题 " + it.id + "？", ok: "停用", danger: true,
                lines: [["题干", it.stem], "停用后，之后组卷和开考时不再抽到这道题" + (it.group_key ? "，同一共用题干的小题一并停用" : "")
                        + "；已经抽到它的考试照常作答计分。可随时恢复。"] })) return;
          var rr = await dk.api("POST", "/api/v1/admin/questions/" + it.id + "/retire", { retired: !it.retired });
          if (!rr.ok) { show(bErr, errorOf(rr).message); return; }
          show(bOk, (it.retired ? "已恢复 " : "已停用 ") + rr.data.count + " 道试题"); load();
        });
        act.appendChild(toggle); tr.appendChild(act); body.appendChild(tr);
      });
      if (!r.data.items.length) { var tr = el("tr"), td = el("td", "没有符合条件的试题", "hint"); td.colSpan = 6; tr.appendChild(td); body.appendChild(tr); }
      var pages = Math.max(1, Math.ceil(total / size));
      document.getElementById("questions-total").textContent = "共 " + total + " 道 · 第 " + page + "/" + pages + " 页";
    }
    browse.addEventListener("submit", function (ev) { ev.preventDefault(); page = 1; load(); });
    browse.elements.bank_id.addEventListener("change", async function () { page = 1; await loadCategories(); load(); });
    ["category", "type", "status"].forEach(function (n) { browse.elements[n].addEventListener("change", function () { page = 1; load(); }); });
    document.querySelectorAll("[data-page]").forEach(function (b) {
      b.addEventListener("click", function () {
        var next = page + Number(b.dataset.page);
        if (next < 1 || (next - 1) * size >= total) return;
        page = next; load();
      });
    });
    loadCategories().then(load);
  }

  // Edit one question.
  var qForm = document.getElementById("question-form");
  if (qForm) {
    var qid = qForm.dataset.id;
    function values(name) { return Array.prototype.map.call(qForm.querySelectorAll('[name="' + name + '"]'), function (e) { return e.value; }); }
    qForm.addEventListener("submit", async function (ev) {
      ev.preventDefault(); dk.clearErrors(qForm); show(qForm.querySelector("[data-form-ok]"), "");
      var body = { stem: qForm.elements.stem.value, key: qForm.elements.key.value, points: qForm.elements.points.value,
                   category: qForm.elements.category.value, difficulty: qForm.elements.difficulty.value || null,
                   explanation: qForm.elements.explanation.value, options: values("options"), code: qForm.elements.code.value };
      if (qForm.elements.group_stem) body.group_stem = qForm.elements.group_stem.value;
      if (qForm.querySelector('[name="group_options"]')) body.group_options = values("group_options");
      var r = await dk.api("POST", "/api/v1/admin/questions/" + qid, body);
      if (!r.ok) { dk.showErrors(qForm, errorOf(r)); return; }
      show(qForm.querySelector("[data-form-ok]"), "已保存");
    });
    var retire = qForm.querySelector("[data-retire]");
    retire.addEventListener("click", async function () {
      var on = retire.dataset.retire === "true";
      if (on && !await dk.confirmDialog({ title: "停用试题 " + qid + "？", ok: "停用", danger: true,
            lines: ["停用后，之后组卷和开考时不再抽到这道题" + (qForm.elements.group_stem ? "，同一共用题干的小题一并停用" : "")
                    + "；已经抽到它的考试照常作答计分。可随时恢复。"] })) return;
      var r = await dk.api("POST", "/api/v1/admin/questions/" + qid + "/retire", { retired: on });
      if (!r.ok) { dk.showErrors(qForm, errorOf(r)); return; }
      dk.reloadSaying((on ? "已停用 " : "已恢复 ") + r.data.count + " 道试题");
    });
  }

  // Enemies of one question (互斥题): listed, found in the bank and added, or removed, at once.
  var enemyBox = document.getElementById("enemies");
  if (enemyBox) {
    var eid = enemyBox.dataset.id, ebank = enemyBox.dataset.bank, eList = enemyBox.querySelector("[data-enemy-list]");
    var eResults = enemyBox.querySelector("[data-enemy-results]"), eOk = enemyBox.querySelector("[data-enemy-ok]");
    var eErr = enemyBox.querySelector("[data-enemy-error]"), eSearch = document.getElementById("enemy-search");
    var enemyIds = {};
    function enemyLine(e, button) {
      var li = el("li"), info = el("div");
      if (e.retired) info.className = "retired";
      var a = el("a", "编号 " + e.id); a.href = "/admin/questions/" + e.id; info.appendChild(a);
      info.appendChild(document.createTextNode((e.code ? " · " + e.code : "") + " · " + e.type_label + (e.retired ? " · 已停用" : "")));
      info.appendChild(el("br")); info.appendChild(document.createTextNode(e.stem));
      li.appendChild(info); li.appendChild(button); return li;
    }
    function renderEnemies(list) {
      eList.innerHTML = ""; enemyIds = {};
      list.forEach(function (e) {
        enemyIds[e.id] = 1;
        var b = el("button", "解除", "btn small danger"); b.type = "button"; b.dataset.unlink = e.id;
        b.addEventListener("click", function () { change({ remove: [e.id] }, "已解除互斥"); });
        var li = enemyLine(e, b); li.dataset.enemy = e.id; eList.appendChild(li);
      });
      enemyBox.querySelector("[data-enemy-count]").textContent = list.length + " 道";
      enemyBox.querySelector("[data-enemy-empty]").hidden = list.length > 0;
    }
    async function change(body, done) {
      show(eOk, ""); show(eErr, "");
      var r = await dk.api("POST", "/api/v1/admin/questions/" + eid + "/enemies", body);
      if (!r.ok) { show(eErr, errorOf(r).message); return; }
      renderEnemies(r.data.enemies); show(eOk, done); eResults.innerHTML = "";
    }
    eList.querySelectorAll("[data-unlink]").forEach(function (b) {
      enemyIds[b.dataset.unlink] = 1;
      b.addEventListener("click", function () { change({ remove: [Number(b.dataset.unlink)] }, "已解除互斥"); });
    });
    eSearch.addEventListener("submit", async function (ev) {
      ev.preventDefault(); show(eOk, ""); show(eErr, ""); eResults.innerHTML = "";
      var text = eSearch.elements.q.value.trim();
      if (!text) { show(eErr, "请输入题干文字或试题编号"); return; }
      var r = await dk.api("GET", "/api/v1/admin/question-banks/" + ebank + "/questions?" + new URLSearchParams({ q: text, size: 20 }).toString());
      if (!r.ok) { show(eErr, errorOf(r).message); return; }
      var shown = r.data.items.filter(function (it) { return String(it.id) !== eid && !enemyIds[it.id]; });
      shown.forEach(function (it) {
        var b = el("button", "设为互斥", "btn small"); b.type = "button";
        b.addEventListener("click", function () { change({ add: [it.id] }, "已设为互斥：编号 " + it.id); });
        eResults.appendChild(enemyLine({ id: it.id, code: it.code, type_label: it.type_label, stem: it.stem, retired: it.retired }, b));
      });
      if (!shown.length) show(eErr, "没有找到其他符合条件的试题");
    });
  }

  // The cueing check on demand: likely pairs, each confirmed as enemies with one click, or all at once.
  var cueForm = document.getElementById("cueing-form");
  if (cueForm) {
    var cueList = document.getElementById("cueing-pairs"), cueOk = document.querySelector("[data-cueing-ok]");
    var cueErr = document.querySelector("[data-cueing-error]"), cueAll = document.querySelector("[data-cueing-all]");
    var cueSummary = document.querySelector("[data-cueing-summary]"), cuePairs = [];
    function side(s) {
      var d = el("div"), a = el("a", s.where || ("编号 " + s.question_id)); a.href = "/admin/questions/" + s.question_id;
      d.appendChild(a); d.appendChild(document.createTextNode(" · " + s.type_label)); d.appendChild(el("br"));
      d.appendChild(document.createTextNode(s.stem)); return d;
    }
    async function confirmPairs(pairs, done) {
      show(cueOk, ""); show(cueErr, "");
      var r = await dk.api("POST", "/api/v1/admin/question-banks/" + cueForm.elements.bank_id.value + "/enemies",
                           { pairs: pairs.map(function (p) { return [p.teller.question_id, p.told.question_id]; }) });
      if (!r.ok) { show(cueErr, errorOf(r).message); return false; }
      show(cueOk, done + "（新增 " + r.data.added + " 对互斥题）"); return true;
    }
    function renderCues(d) {
      cueList.innerHTML = ""; cuePairs = d.pairs;
      cueSummary.textContent = "检查了 " + d.checked + " 道试题，发现 " + d.total + " 对可能互相提示的试题" + (d.total > d.pairs.length ? "（列出前 " + d.pairs.length + " 对）" : "");
      d.pairs.forEach(function (p) {
        var li = el("li"), body = el("div", null, "cue-body");
        body.appendChild(side(p.teller)); body.appendChild(el("p", "↑ " + p.reason + " ↓", "hint")); body.appendChild(side(p.told));
        var b = el("button", "设为互斥", "btn small"); b.type = "button";
        b.addEventListener("click", async function () {
          b.disabled = true;
          if (await confirmPairs([p], "已设为互斥")) { li.remove(); cuePairs = cuePairs.filter(function (x) { return x !== p; }); cueAll.hidden = !cuePairs.length; }
          else b.disabled = false;
        });
        li.appendChild(body); li.appendChild(b); cueList.appendChild(li);
      });
      cueAll.hidden = !d.pairs.length;
    }
    cueForm.addEventListener("submit", async function (ev) {
      ev.preventDefault(); show(cueOk, ""); show(cueErr, ""); cueList.innerHTML = ""; cueAll.hidden = true; cueSummary.textContent = "正在检查…";
      var btn = cueForm.querySelector("[type=submit]"); btn.disabled = true;
      try {
        var r = await dk.api("GET", "/api/v1/admin/question-banks/" + cueForm.elements.bank_id.value + "/cueing?" + new URLSearchParams({ category: cueForm.elements.category.value.trim() }).toString());
        if (!r.ok) { cueSummary.textContent = ""; show(cueErr, errorOf(r).message); return; }
        renderCues(r.data);
      } catch (e) { cueSummary.textContent = ""; show(cueErr, "网络连接失败，请检查网络后重试"); }
      finally { btn.disabled = false; }
    });
    cueAll.addEventListener("click", async function () {
      if (!cuePairs.length || !await dk.confirmDialog({ title: "把列出的 " + cuePairs.length + " 对试题全部设为互斥？", ok: "全部设为互斥",
            lines: ["设为互斥后，同一份试卷不会同时抽到其中的两道题。可在各题的互斥题中逐一解除。"] })) return;
      cueAll.disabled = true;
      if (await confirmPairs(cuePairs, "已全部设为互斥")) { cueList.innerHTML = ""; cuePairs = []; cueAll.hidden = true; }
      cueAll.disabled = false;
    });
  }

  // Define a paper: sections, live totals, fillability check, save.
  var pForm = document.getElementById("paper-form");
  if (pForm) {
    var rows = document.querySelector("#sections tbody"), tpl = document.getElementById("section-row");
    function renumber() {
      var count = 0, points = 0;
      rows.querySelectorAll("tr").forEach(function (tr, i) {
        tr.querySelector("[data-n]").textContent = i + 1;
        var c = Number(tr.querySelector('[data-f="count"]').value) || 0, p = Number(tr.querySelector('[data-f="points_each"]').value) || 0;
        count += c; points += c * p;
      });
      document.getElementById("paper-total").textContent = "共 " + count + " 题，总分 " + Math.round(points * 100) / 100 + " 分";
    }
    function addRow(values) {
      var tr = tpl.content.firstElementChild.cloneNode(true);
      Object.keys(values || {}).forEach(function (k) { tr.querySelector('[data-f="' + k + '"]').value = values[k]; });
      tr.querySelector("[data-remove]").addEventListener("click", function () { tr.remove(); renumber(); });
      tr.querySelectorAll("input").forEach(function (i) { i.addEventListener("input", renumber); });
      rows.appendChild(tr); renumber();
    }
    pForm.querySelector("[data-add-section]").addEventListener("click", function () { addRow(); });
    addRow({ title: "A1型题", type: "A1" });
    function collect() {
      var v = { title: pForm.elements.title.value, kind: pForm.elements.kind.value, practice_category: pForm.elements.practice_category.value || null,
                time_limit_minutes: pForm.elements.time_limit_minutes.value, pass_mark: pForm.elements.pass_mark.value,
                attempts_allowed: pForm.elements.attempts_allowed.value, partial_credit: pForm.elements.partial_credit.checked,
                shuffle_options: pForm.elements.shuffle_options.checked, sections: [], bank_ids: [] };
      pForm.querySelectorAll('[name="bank_ids"]:checked').forEach(function (b) { v.bank_ids.push(Number(b.value)); });
      rows.querySelectorAll("tr").forEach(function (tr) {
        var s = {}; tr.querySelectorAll("[data-f]").forEach(function (i) { s[i.dataset.f] = i.value; }); v.sections.push(s);
      });
      return v;
    }
    var checkBox = document.getElementById("paper-check");
    function renderCheck(d) {
      var list = checkBox.querySelector("ul"); list.innerHTML = "";
      d.problems.concat(d.shortfalls.map(function (s) { return s.message; })).forEach(function (m) { list.appendChild(el("li", m, "flag-bad")); });
      if (d.ok) list.appendChild(el("li", "所选题库可以组成该试卷：共 " + d.question_count + " 题，总分 " + d.total_points + " 分（题库在用 " + d.pool_size + " 题）", "ok"));
      checkBox.hidden = false;
    }
    pForm.querySelector("[data-check]").addEventListener("click", async function () {
      dk.clearErrors(pForm); show(pForm.querySelector("[data-form-ok]"), "");
      var r = await dk.api("POST", "/api/v1/admin/papers/check", collect());
      if (!r.ok) { dk.showErrors(pForm, errorOf(r)); checkBox.hidden = true; return; }
      renderCheck(r.data);
    });
    pForm.addEventListener("submit", async function (ev) {
      ev.preventDefault(); dk.clearErrors(pForm); show(pForm.querySelector("[data-form-ok]"), "");
      var r = await dk.api("POST", "/api/v1/admin/papers", collect());
      if (!r.ok) { dk.showErrors(pForm, errorOf(r)); return; }
      show(pForm.querySelector("[data-form-ok]"), "已保存试卷“" + r.data.title + "”");
      setTimeout(function () { location.reload(); }, 1200);
    });
    var datalist = document.getElementById("category-options");
    pForm.querySelectorAll('[name="bank_ids"]').forEach(function (b) {
      b.addEventListener("change", async function () {
        var seen = {}; datalist.innerHTML = "";
        var checked = pForm.querySelectorAll('[name="bank_ids"]:checked');
        for (var i = 0; i < checked.length; i++) {
          var r = await dk.api("GET", "/api/v1/admin/question-banks/" + checked[i].value + "/categories");
          if (!r.ok) continue;
          r.data.items.forEach(function (c) { if (!seen[c.category]) { seen[c.category] = 1; var o = el("option"); o.value = c.category; datalist.appendChild(o); } });
        }
      });
    });
  }
})();
