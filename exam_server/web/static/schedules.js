// 考试安排: the cycle's schedules, a new schedule (body/admin), each schedule's attempts with
// extra time (body/admin/invigilator) and ending an attempt (body/admin).
(function () {
  "use strict";
  var dk = window.dk, page = document.getElementById("schedules-page");
  if (!page) return;
  var canSchedule = page.dataset.canSchedule === "1", canEnd = page.dataset.canEnd === "1";
  var STATE_WORDS = { in_progress: "进行中", submitted: "已交卷", scored: "已评分" };
  var TZ = { timeZone: "Asia/Shanghai", hour12: false, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" };
  function when(iso) { return iso ? new Date(iso).toLocaleString("zh-CN", TZ) : ""; }
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined && text !== null) e.textContent = text; if (cls) e.className = cls; return e; }
  function say(box, text) { box.textContent = text || ""; box.hidden = !text; }
  function pts(x) { return x === null || x === undefined ? "" : String(Math.round(Number(x) * 100) / 100); }
  function errorText(r) { return (r.data && r.data.error && r.data.error.message) || "操作失败（" + r.status + "）"; }

  var table = document.getElementById("schedules"), listOk = page.querySelector("[data-list-ok]"), listErr = page.querySelector("[data-list-error]");
  var card = document.getElementById("attempts-card"), attemptsTable = document.getElementById("attempts");
  var attemptsOk = card.querySelector("[data-attempts-ok]"), attemptsErr = card.querySelector("[data-attempts-error]");
  var selected = null, refreshTimer = null;

  async function loadSchedules() {
    var body = table.querySelector("tbody");
    var r;
    try { r = await dk.api("GET", "/api/v1/schedules"); } catch (e) { say(listErr, "网络连接失败，请检查网络后重试"); return; }
    if (!r.ok) { say(listErr, errorText(r)); return; }
    say(listErr, "");
    body.innerHTML = "";
    if (!r.data.items.length) { var tr0 = el("tr"), c = el("td", "本周期暂无考试安排"); c.colSpan = 9; tr0.appendChild(c); body.appendChild(tr0); }
    r.data.items.forEach(function (s) {
      var tr = el("tr"); tr.dataset.scheduleId = s.id;
      function td(text) { var c = el("td", text); tr.appendChild(c); return c; }
      td(s.title); td(s.practice_category || "全部"); td(s.body_name);
      // The window on two lines and the actions wrapping: the whole row fits a desktop page, so
      // 违规复核 is never scrolled out of sight.
      var win = td(when(s.window_start) + " 至\n" + when(s.window_end) + (s.closed_at ? "（已结束）" : "")); win.className = "when";
      td(s.time_limit_minutes + " 分钟"); td(s.attempts_allowed + " 次"); td(pts(s.pass_mark)); td(String(s.in_progress || 0));
      var act = el("td", null, "acts"), btn = el("button", "查看考生", "btn small"); btn.type = "button";
      btn.addEventListener("click", function () { selected = s; loadAttempts(); card.scrollIntoView({ block: "start" }); });
      act.appendChild(btn);
      // Proctoring: the body sets rules and invigilators and reviews violations; an invigilator watches.
      function link(text, href, key) { var a = el("a", text, "btn small"); a.href = href; a.dataset[key] = s.id; act.appendChild(a); }
      if (canSchedule) {
        link("监考安排", "/schedules/" + s.id + "/proctoring", "proctoring");
        link("违规复核", "/schedules/" + s.id + "/review", "review");
      } else {
        link("监考工作台", "/invigilation?schedule=" + s.id, "invigilate");
      }
      tr.appendChild(act);
      body.appendChild(tr);
    });
  }

  async function loadAttempts() {
    if (!selected) return;
    card.hidden = false;
    card.querySelector("[data-attempts-title]").textContent = selected.title;
    var r;
    try { r = await dk.api("GET", "/api/v1/schedules/" + selected.id + "/attempts"); } catch (e) { say(attemptsErr, "网络连接失败，请检查网络后重试"); return; }
    if (!r.ok) { say(attemptsErr, errorText(r)); return; }
    say(attemptsErr, "");
    var body = attemptsTable.querySelector("tbody"); body.innerHTML = "";
    if (!r.data.items.length) { var tr0 = el("tr"), c = el("td", "暂无考生作答记录"); c.colSpan = 9; tr0.appendChild(c); body.appendChild(tr0); }
    r.data.items.forEach(function (a) {
      var tr = el("tr"); tr.dataset.attemptId = a.id;
      function td(text) { var c = el("td", text); tr.appendChild(c); return c; }
      td(a.physician_name); td(a.institution_name); td("第 " + a.attempt_no + " 次");
      td(STATE_WORDS[a.state] + (a.submit_words ? "（" + a.submit_words + "）" : ""));
      td(when(a.started_at)); var dl = td(when(a.deadline)); dl.dataset.deadline = a.deadline;
      td(a.extra_minutes ? a.extra_minutes + " 分钟" : "—");
      td(a.score === null || a.score === undefined ? "—" : pts(a.score) + " / " + pts(a.max_score) + (a.passed ? " 通过" : " 未通过"));
      var act = el("td");
      if (a.state === "in_progress") {
        var extra = el("button", "延长时间", "btn small"); extra.type = "button"; extra.dataset.extra = a.id;
        extra.addEventListener("click", function () { openAction("extra", a); });
        act.appendChild(extra);
        if (canEnd) {
          var end = el("button", "结束考试", "btn small danger"); end.type = "button"; end.dataset.end = a.id;
          end.addEventListener("click", function () { openAction("end", a); });
          act.appendChild(document.createTextNode(" ")); act.appendChild(end);
        }
      }
      tr.appendChild(act);
      body.appendChild(tr);
    });
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(loadAttempts, 15000);
  }
  card.querySelector("[data-refresh]").addEventListener("click", loadAttempts);

  // Extra time / end an attempt: one small dialog, the reason required, errors by field.
  var modal = document.getElementById("action-modal"), form = document.getElementById("action-form"), action = null, target = null;
  function openAction(kind, a) {
    action = kind; target = a;
    dk.clearErrors(form);
    form.querySelector("#action-title").textContent = kind === "extra" ? "延长考试时间" : "结束 " + a.physician_name + " 的考试？";
    form.querySelector("[data-action-who]").textContent = a.physician_name + "（" + a.institution_name + "），当前截止时间 " + when(a.deadline);
    form.querySelector("[data-minutes-field]").hidden = kind !== "extra";
    form.querySelector("[data-end-consequence]").hidden = kind !== "end";
    form.elements.minutes.disabled = kind !== "extra";
    form.elements.reason.value = "";
    form.querySelector("[data-action-ok]").textContent = kind === "extra" ? "确定延长" : "确定结束";
    form.querySelector("[data-action-ok]").classList.toggle("danger", kind === "end");
    modal.hidden = false;
    (kind === "extra" ? form.elements.minutes : form.elements.reason).focus();
  }
  form.querySelector("[data-action-cancel]").addEventListener("click", function () { modal.hidden = true; });
  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    dk.clearErrors(form);
    var reason = form.elements.reason.value.trim(), fields = {};
    if (!reason) fields.reason = "请填写原因";
    var body = { reason: reason };
    if (action === "extra") {
      var raw = form.elements.minutes.value.trim();
      if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1) fields.minutes = "延长时间应为正整数（分钟）";
      body.minutes = Number(raw);
    }
    if (Object.keys(fields).length) { dk.showErrors(form, { message: Object.values(fields).join("；"), fields: fields }); return; }
    var btn = form.querySelector("[data-action-ok]"); btn.disabled = true;
    try {
      var r = await dk.api("POST", "/api/v1/attempts/" + target.id + (action === "extra" ? "/extra-time" : "/end"), body);
      if (!r.ok) { dk.showErrors(form, r.data.error || { message: errorText(r) }); return; }
      modal.hidden = true;
      say(attemptsOk, action === "extra"
        ? "已为 " + target.physician_name + " 延长 " + body.minutes + " 分钟，新的截止时间 " + when(r.data.deadline)
        : "已结束 " + target.physician_name + "（" + target.institution_name + "）的考试并交卷" + (r.data.score !== null && r.data.score !== undefined ? "，得分 " + r.data.score + " 分" : ""));
      loadAttempts(); loadSchedules();
    } catch (e) { dk.showErrors(form, { message: "网络连接失败，请检查网络后重试" }); }
    finally { btn.disabled = false; }
  });

  // New schedule.
  var sform = document.getElementById("schedule-form");
  if (canSchedule && sform) {
    sform.elements.paper_id.addEventListener("change", function () {
      var o = sform.elements.paper_id.selectedOptions[0];
      if (!o || !o.value) return;
      sform.elements.time_limit_minutes.value = o.dataset.time;
      sform.elements.pass_mark.value = pts(o.dataset.pass);
      sform.elements.attempts_allowed.value = o.dataset.attempts;
    });
    sform.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      dk.clearErrors(sform); say(sform.querySelector("[data-form-ok]"), "");
      var v = dk.formValues(sform), fields = {};
      if (!v.paper_id) fields.paper_id = "请选择试卷";
      if (!v.window_start) fields.window_start = "请填写开始时间";
      if (!v.window_end) fields.window_end = "请填写结束时间";
      ["time_limit_minutes", "attempts_allowed", "pass_mark"].forEach(function (k) { if (!String(v[k]).trim()) fields[k] = "请填写此项"; });
      if (Object.keys(fields).length) { dk.showErrors(sform, { message: Object.values(fields).join("；"), fields: fields }); return; }
      var btn = sform.querySelector("[type=submit]"); btn.disabled = true;
      try {
        var r = await dk.api("POST", "/api/v1/schedules", {
          paper_id: v.paper_id, window_start: v.window_start, window_end: v.window_end,
          time_limit_minutes: v.time_limit_minutes.trim(), attempts_allowed: v.attempts_allowed.trim(), pass_mark: v.pass_mark.trim() });
        if (!r.ok) { dk.showErrors(sform, r.data.error || { message: errorText(r) }); return; }
        say(sform.querySelector("[data-form-ok]"), "已安排：" + r.data.title + "，" + when(r.data.window_start) + " 至 " + when(r.data.window_end));
        loadSchedules();
      } catch (e) { dk.showErrors(sform, { message: "网络连接失败，请检查网络后重试" }); }
      finally { btn.disabled = false; }
    });
  }

  loadSchedules();
})();
