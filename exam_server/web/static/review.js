// Review queue, record view with institution/body actions, departments, transfers, exemption form.
(function () {
  "use strict";
  var dk = window.dk;
  var okBox = document.querySelector("[data-form-ok]"), errBox = document.querySelector("[data-form-error]");
  function say(r, text) {
    if (okBox) okBox.hidden = true; if (errBox) errBox.hidden = true;
    if (r.ok) { if (okBox) { okBox.textContent = text; okBox.hidden = false; } }
    else if (errBox) { errBox.textContent = r.data.error.message; errBox.hidden = false; }
  }
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined && text !== null) e.textContent = text; if (cls) e.className = cls; return e; }
  var PROC = { simple: "简易程序", general: "一般程序" };

  // Review queue.
  var table = document.getElementById("reviews");
  if (table) {
    var filter = document.getElementById("review-filter"), role = table.dataset.role;
    async function load() {
      var q = new URLSearchParams(); Array.prototype.forEach.call(filter.elements, function (e) { if (e.name && e.value) q.set(e.name, e.value); });
      q.set("size", "500");
      var inst = new URLSearchParams(location.search).get("institution_id"); if (inst) q.set("institution_id", inst);
      var r = await dk.api("GET", "/api/v1/reviews?" + q.toString());
      var body = table.querySelector("tbody"); body.innerHTML = "";
      if (!r.ok) { say(r); return; }
      r.data.items.forEach(function (it) {
        var tr = el("tr"); tr.dataset.registrationId = it.registration_id;
        if (role === "institution") { var c = el("td"), b = el("input"); b.type = "checkbox"; b.value = it.registration_id; b.disabled = it.state !== "SUBMITTED"; b.setAttribute("aria-label", "选择 " + it.name); c.appendChild(b); tr.appendChild(c); }
        var who = el("td", it.name); if (it.name_differs) { who.appendChild(el("br")); who.appendChild(el("small", "填报：" + it.name_typed, "flag-bad")); } tr.appendChild(who);
        [it.id_number_masked, it.institution_name, it.department || "", PROC[it.procedure] || "", it.state_words].forEach(function (t) { tr.appendChild(el("td", t)); });
        var flag = el("td", it.eligibility || "", it.eligible === false ? "flag-bad" : (it.eligibility ? "flag-check" : "")); tr.appendChild(flag);
        var act = el("td"), a = el("a", "查看", "btn small"); a.href = "/records/" + it.registration_id; act.appendChild(a); tr.appendChild(act);
        body.appendChild(tr);
      });
      document.getElementById("review-total").textContent = "共 " + r.data.total + " 条";
    }
    filter.addEventListener("submit", function (ev) { ev.preventDefault(); load(); });
    var all = document.querySelector("[data-check-all]");
    if (all) all.addEventListener("change", function () { table.querySelectorAll("tbody input:not(:disabled)").forEach(function (b) { b.checked = all.checked; }); });
    var batch = document.querySelector("[data-batch-approve]");
    if (batch) batch.addEventListener("click", async function () {
      var ids = Array.prototype.map.call(table.querySelectorAll("tbody input:checked"), function (b) { return Number(b.value); });
      if (!ids.length) { say({ ok: false, data: { error: { message: "请先勾选要审核的记录" } } }); return; }
      var names = Array.prototype.map.call(table.querySelectorAll("tbody input:checked"), function (b) { return b.closest("tr").children[1].firstChild.textContent; });
      if (!await dk.confirmDialog({ title: "确认批量审核通过", ok: "审核通过 " + ids.length + " 条", lines: ["确定审核通过选中的 " + ids.length + " 条记录，并将工作成绩、职业道德均评定为合格？", ["医师", names.join("、")]] })) return;
      var r = await dk.api("POST", "/api/v1/registrations/batch-approve", { registration_ids: ids });
      say(r, r.ok ? "已审核通过 " + r.data.approved + " 条记录" : ""); if (r.ok) load();
    });
    load();
  }

  // One record.
  var record = document.getElementById("record");
  if (record) {
    var rid = record.dataset.id, current = null;
    // An empty field says 未填写 (a blank would read as a page fault).
    function dl(pairs) {
      var d = el("dl", null, "facts");
      pairs.forEach(function (p) {
        d.appendChild(el("dt", p[0]));
        var empty = p[1] === null || p[1] === undefined || String(p[1]).trim() === "";
        var dd = el("dd", empty ? "未填写" : String(p[1])); if (p[2]) dd.className = p[2]; if (empty) dd.classList.add("empty");
        d.appendChild(dd);
      });
      return d;
    }
    function fileLinks(files, ids) { var span = el("span"); files.filter(function (f) { return !ids || ids.indexOf(f.id) >= 0; }).forEach(function (f) { var a = el("a", f.name); a.href = "/api/v1/files/" + f.id; a.target = "_blank"; span.appendChild(a); span.appendChild(el("br")); }); return span; }
    async function load() {
      var r = await dk.api("GET", "/api/v1/registrations/" + rid);
      var box = document.getElementById("record-body"); box.innerHTML = "";
      if (!r.ok) { say(r); return; }
      var d = current = r.data, s = d.steps, p = d.physician;
      document.getElementById("record-state").textContent = "【" + d.state_words + "】";
      document.querySelectorAll("[data-when]").forEach(function (panel) { panel.hidden = true; });
      var ex0 = document.getElementById("exemption-panel"); if (ex0) ex0.hidden = true;
      if (d.draft) {
        box.appendChild(dl([["姓名", p.name], ["证件编号", p.id_number], ["机构", p.institution]]));
        box.appendChild(el("p", "医师尚未提交报名信息，提交前仅显示状态。", "hint"));
        return;
      }
      if (d.return_reason) box.appendChild(el("p", "退回原因：" + d.return_reason, "alert"));
      var head = el("div", null, "confirm-basic");
      if (s.basic.photo_file_id) { var img = el("img", null, "photo-thumb"); img.src = "/api/v1/files/" + s.basic.photo_file_id; img.alt = "照片"; head.appendChild(img); }
      var names = [["姓名", p.name]];
      if (p.name_differs) names.push(["填报姓名", p.name_typed + "（与电子注册系统姓名不一致，请核实）", "flag-bad"]);
      head.appendChild(dl(names.concat([["证件编号", p.id_number], ["机构", p.institution], ["资格证书编号", p.qualification_cert_no], ["执业证书编号", p.practice_cert_no], ["首次执业日期", p.practice_start_date], ["性别", s.basic.gender], ["民族", s.basic.ethnicity], ["学历", s.basic.education], ["手机号", s.basic.mobile], ["电子邮件", s.basic.email]])));
      box.appendChild(head);
      box.appendChild(el("h2", "执业信息"));
      box.appendChild(dl([["科室", d.department_name], ["从事专业", (s.practice.specialties || []).join("、")], ["职称", s.practice.title], ["医师级别", s.practice.level], ["规培生", s.practice.resident === true ? "是" : s.practice.resident === false ? "否" : ""], ["执业类别", s.practice.practice_category], ["执业范围", s.practice.practice_scope], ["执业情况", s.practice.employment]]));
      box.appendChild(el("h2", "相关经历"));
      [["filings", "多机构备案"], ["education", "教育经历"], ["practice_history", "执业经历"]].forEach(function (k) {
        box.appendChild(el("h3", k[1])); var items = s.experience[k[0]] || [];
        if (!items.length) box.appendChild(el("p", "未填写", "hint empty"));
        items.forEach(function (it) { box.appendChild(el("p", Object.values(it).filter(Boolean).join(" · "), "line")); });
      });
      box.appendChild(el("h2", "工作成绩、职业道德自评"));
      box.appendChild(dl([["工作成绩", s.self_eval.work_rating], ["说明", s.self_eval.work_summary, "pre"], ["职业道德", s.self_eval.ethics_rating], ["说明", s.self_eval.ethics_summary, "pre"]]));
      box.appendChild(el("h2", "考核程序"));
      var proc = [["考核程序", PROC[d.procedure] || ""]];
      if (d.procedure === "simple") proc.push(["简易程序条件", d.eligibility.message, d.eligibility.eligible === false ? "flag-bad" : "flag-check"]);
      box.appendChild(dl(proc));
      if (d.procedure === "simple") { box.appendChild(el("h3", "证明材料")); box.appendChild(fileLinks(d.files, s.procedure.proof_file_ids)); box.appendChild(el("h3", "述职报告")); box.appendChild(el("p", s.procedure.report || "未填写", s.procedure.report ? "pre" : "pre empty")); }
      if (d.work_rating) box.appendChild(dl([["机构评定", "工作成绩 " + d.work_rating + "，职业道德 " + d.ethics_rating], ["评定意见", d.rating_comment]]));
      var rated = d.work_rating === "不合格" || d.ethics_rating === "不合格" ? "fail" : "pass";
      document.querySelectorAll("[data-when]").forEach(function (p) { p.hidden = p.dataset.when !== d.state || (!!p.dataset.rating && p.dataset.rating !== rated); });
      reviewBar();
      var ex = document.getElementById("exemption-panel");
      if (ex) {
        ex.hidden = !d.exemption;
        if (d.exemption) {
          var eb = document.getElementById("exemption-body"); eb.innerHTML = "";
          eb.appendChild(dl([["状态", d.exemption.state_words], ["免考条件", d.exemption.conditions.map(function (c) { return c.name; }).join("、")], ["免考科目", d.exemption.waived_paper]]));
          eb.appendChild(fileLinks(d.files, d.exemption.proof_file_ids));
          var canDecide = (record.dataset.role === "institution" && d.exemption.state === "SUBMITTED") || (record.dataset.role === "body" && d.exemption.state === "INSTITUTION_APPROVED");
          document.getElementById("exemption-form").hidden = !canDecide;
        }
      }
    }
    // The decision stays in reach on a long record: a bar fixed at the bottom of the screen repeats the
    // open panel's actions; one that needs input first brings its form into view.
    function reviewBar() {
      var bar = document.querySelector("[data-review-bar]"); if (!bar) return;
      var panel = Array.prototype.filter.call(document.querySelectorAll("[data-when]"), function (p) { return !p.hidden; })[0];
      var actions = bar.querySelector("[data-review-bar-actions]"); actions.innerHTML = "";
      bar.hidden = !panel;
      if (!panel) return;
      bar.querySelector("[data-review-bar-words]").textContent = panel.querySelector("h2").textContent + "：" + current.physician.name;
      panel.querySelectorAll("form").forEach(function (form) {
        var submit = form.querySelector("[type=submit]"), b = el("button", submit.textContent, submit.className);
        b.type = "button";
        b.addEventListener("click", function () {
          var text = form.querySelector("textarea:not([name=comment])");
          if (text && !text.value.trim()) { form.scrollIntoView({ block: "center" }); text.focus(); return; }
          form.requestSubmit();
        });
        actions.appendChild(b);
      });
    }
    function ratingsMissing(f) {
      var missing = {};
      [["work_rating", "请选择工作成绩评定"], ["ethics_rating", "请选择职业道德评定"]].forEach(function (k) { if (!f.querySelector("[name=" + k[0] + "]:checked")) missing[k[0]] = k[1]; });
      return Object.keys(missing).length ? missing : null;
    }
    // What each action will do, and to whom, before it is done.
    var CONFIRM = {
      "approve-form": function (f) {
        var missing = ratingsMissing(f);
        if (missing) { dk.showErrors(f, { message: "请先选择评定结果", fields: missing }); f.scrollIntoView({ block: "center" }); return null; }
        var v = dk.formValues(f), fail = v.work_rating === "不合格" || v.ethics_rating === "不合格";
        return { title: "确认审核通过", ok: "审核通过", lines: ["确认审核通过 " + current.physician.name + " 的报名信息，并提交考核机构复核？",
          ["工作成绩", v.work_rating], ["职业道德", v.ethics_rating]].concat(fail ? ["评定为不合格的，经考核机构确认后考核结果为不合格。"] : []) };
      },
      "return-form": function (f) { return { title: "确认退回", ok: "退回", lines: ["确认将 " + current.physician.name + " 的报名信息退回医师修改？", ["退回原因", f.elements.reason.value]] }; },
      "body-approve-form": function () { return { title: "确认复核通过", ok: "复核通过", lines: ["确认复核通过 " + current.physician.name + "（" + current.physician.institution + "）？通过后医师即可参加测评。"] }; },
      "body-return-form": function (f) { return { title: "确认退回", ok: "退回", lines: ["确认将 " + current.physician.name + " 的报名信息退回？", ["退回原因", f.elements.reason.value]] }; },
      "body-confirm-fail-form": function () { return { title: "确认考核不合格", ok: "确认不合格", danger: true, lines: ["确认 " + current.physician.name + "（" + current.physician.institution + "）考核不合格？不合格将暂停其执业活动，结果公布后医师可申请复核。"] }; },
      "body-return-institution-form": function (f) { return { title: "确认退回机构", ok: "退回机构", lines: ["确认将 " + current.physician.name + " 的评定退回 " + current.physician.institution + " 重新评定？", ["原因", f.elements.reason.value]] }; },
    };
    function bind(id, url, build, text) {
      var f = document.getElementById(id); if (!f) return;
      f.addEventListener("submit", async function (ev) {
        ev.preventDefault(); dk.clearErrors(f);
        var ask = CONFIRM[id] ? CONFIRM[id](f) : null;
        if (CONFIRM[id] && !ask) return;
        var needs = f.querySelector("textarea[name=reason]");
        if (ask && !(needs && !needs.value.trim()) && !await dk.confirmDialog(ask)) return;
        var r = await dk.api("POST", url, build(f));
        if (!r.ok) { dk.showErrors(f, r.data.error); say(r); return; }
        say(r, text); f.reset(); load();
      });
    }
    bind("approve-form", "/api/v1/registrations/" + rid + "/approve", function (f) { var v = dk.formValues(f); v.version = current.version; return v; }, "已审核通过");
    bind("return-form", "/api/v1/registrations/" + rid + "/return", function (f) { return { reason: f.elements.reason.value, version: current.version }; }, "已退回");
    bind("body-approve-form", "/api/v1/registrations/" + rid + "/body-approve", function () { return { version: current.version }; }, "已复核通过");
    bind("body-return-form", "/api/v1/registrations/" + rid + "/body-return", function (f) { return { reason: f.elements.reason.value, version: current.version }; }, "已退回");
    bind("body-confirm-fail-form", "/api/v1/registrations/" + rid + "/body-confirm-fail", function () { return { version: current.version }; }, "已确认不合格");
    bind("body-return-institution-form", "/api/v1/registrations/" + rid + "/body-return-to-institution", function (f) { return { reason: f.elements.reason.value, version: current.version }; }, "已退回机构重新评定");
    document.querySelectorAll("[data-decide]").forEach(function (b) {
      b.addEventListener("click", async function () {
        var f = document.getElementById("exemption-form"); dk.clearErrors(f);
        var r = await dk.api("POST", "/api/v1/exemptions/" + current.exemption.id + "/decide", { approve: b.dataset.decide === "true", reason: f.elements.reason.value, version: current.exemption.version });
        if (!r.ok) { dk.showErrors(f, r.data.error); return; }
        say(r, "已处理免考申请"); load();
      });
    });
    load();
  }

  // Departments.
  var depts = document.getElementById("departments");
  if (depts) {
    (async function load() {
      var r = await dk.api("GET", "/api/v1/departments");
      depts.innerHTML = "";
      r.data.items.forEach(function (d) {
        var li = el("li", d.name + " "), b = el("button", "删除", "btn small danger"); b.type = "button";
        b.addEventListener("click", async function () { var rr = await dk.api("POST", "/api/v1/departments/" + d.id + "/delete"); if (rr.ok) li.remove(); else say(rr); });
        li.appendChild(b); depts.appendChild(li);
      });
    })();
  }

  // Health administration: move a physician.
  var hp = document.getElementById("health-physicians");
  if (hp) {
    var hf = document.getElementById("health-filter"), options = [];
    async function loadHealth() {
      if (!options.length) options = (await dk.api("GET", "/api/v1/institution-options")).data.items;
      var r = await dk.api("GET", "/api/v1/physicians?size=200&q=" + encodeURIComponent(hf.elements.q.value));
      var body = hp.querySelector("tbody"); body.innerHTML = "";
      r.data.items.forEach(function (p) {
        var tr = el("tr"); [p.name, p.id_number_masked, p.institution_name, p.state_words].forEach(function (t) { tr.appendChild(el("td", t)); });
        var sel = el("select"); sel.setAttribute("aria-label", p.name + " 调整到的机构"); options.forEach(function (o) { var op = el("option", o.name); op.value = o.id; sel.appendChild(op); });
        var c1 = el("td"); c1.appendChild(sel); tr.appendChild(c1);
        var reason = el("input"); reason.maxLength = Number(hp.dataset.reasonMax); reason.placeholder = "调整原因"; reason.setAttribute("aria-label", p.name + " 的调整原因"); var c2 = el("td"); c2.appendChild(reason); tr.appendChild(c2);
        var b = el("button", "调整", "btn small"); b.type = "button"; var c3 = el("td"); c3.appendChild(b); tr.appendChild(c3);
        b.addEventListener("click", async function () {
          var rr = await dk.api("POST", "/api/v1/physicians/" + p.physician_id + "/transfer", { institution_id: Number(sel.value), reason: reason.value });
          say(rr, "已将 " + p.name + " 调整到 " + sel.options[sel.selectedIndex].text); if (rr.ok) loadHealth();
        });
        body.appendChild(tr);
      });
    }
    hf.addEventListener("submit", function (ev) { ev.preventDefault(); loadHealth(); });
    loadHealth();
  }

  // Physician: exemption application.
  var ef = document.getElementById("exemption-apply");
  if (ef) {
    var input = document.getElementById("exemption-proof-input");
    input.addEventListener("change", async function () {
      dk.clearErrors(ef);
      for (var i = 0; i < input.files.length; i++) {
        var fd = new FormData(); fd.append("proof", input.files[i], input.files[i].name);
        var r = await dk.api("POST", "/api/v1/exemption/proofs", fd);
        if (!r.ok) { dk.showErrors(ef, r.data.error); break; }
        var li = el("li"); li.innerHTML = '<label><input type="checkbox" name="proof_file_ids" data-list checked> <span></span></label> <button type="button" class="btn small danger">删除</button>';
        li.querySelector("button").dataset.deleteFile = r.data.id;
        li.querySelector("input").value = r.data.id; li.querySelector("span").textContent = r.data.name;
        document.getElementById("exemption-proofs").appendChild(li);
      }
      input.value = "";
    });
    ef.addEventListener("submit", async function (ev) {
      ev.preventDefault(); dk.clearErrors(ef);
      var v = dk.formValues(ef);
      v.condition_codes = v.condition_codes || []; v.proof_file_ids = (v.proof_file_ids || []).map(Number);
      var r = await dk.api("POST", "/api/v1/exemption", v);
      if (!r.ok) { dk.showErrors(ef, r.data.error); return; }
      location.href = "/";
    });
  }
})();
