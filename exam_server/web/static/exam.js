// 我的考试 (start buttons) and the exam page: one question at a time, answers saved as given
// (kept in localStorage until the server confirms), a countdown from the server's clock, and
// server pushes (extra time, another device taking over, submission) over SSE.
(function () {
  "use strict";
  var dk = window.dk;

  function store(key, value) { try { localStorage.setItem(key, value); } catch (e) { /* private mode: memory only */ } }
  function fetchStored(key) { try { return localStorage.getItem(key); } catch (e) { return null; } }
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined && text !== null) e.textContent = text; if (cls) e.className = cls; return e; }
  function pts(x) { return String(Math.round(Number(x) * 100) / 100); }
  var TZ = { timeZone: "Asia/Shanghai", hour12: false };
  function beijing(ms, withDate) {
    var o = { hour: "2-digit", minute: "2-digit", second: "2-digit" };
    if (withDate) { o.year = "numeric"; o.month = "2-digit"; o.day = "2-digit"; }
    return new Date(ms).toLocaleString("zh-CN", Object.assign(o, TZ));
  }

  var deviceId = dk.deviceId;

  // ---------------------------------------------------------------- 我的考试
  document.querySelectorAll("[data-start]").forEach(function (btn) {
    btn.addEventListener("click", async function () {
      var box = document.querySelector("[data-form-error]"), label = btn.textContent;
      box.hidden = true;
      try { if (!await dk.confirmExamStart(btn.dataset.start)) return; }
      catch (e) { box.textContent = e instanceof TypeError ? "网络连接失败，请检查网络后重试" : e.message; box.hidden = false; return; }
      btn.disabled = true; btn.textContent = "正在开始…";
      try {
        var r = await dk.api("POST", "/api/v1/exams/start", { kind: btn.dataset.start, device: deviceId() });
        if (r.ok) { location.href = "/exams/attempt/" + r.data.attempt_id; return; }
        var err = r.data.error || {};
        if (err.fields && err.fields.attempt_id) { location.href = "/exams/attempt/" + err.fields.attempt_id; return; }
        box.textContent = err.message || "无法开始考试（" + r.status + "）"; box.hidden = false;
      } catch (e) { box.textContent = "网络连接失败，请检查网络后重试"; box.hidden = false; }
      btn.disabled = false; btn.textContent = label;
    });
  });

  // ---------------------------------------------------------------- the exam page
  var root = document.getElementById("exam");
  if (!root) return;
  var ATTEMPT = Number(root.dataset.attempt), DEVICE = deviceId(), KEY = "dk.attempt." + ATTEMPT;
  var BASE = "/api/v1/attempts/" + ATTEMPT;
  function $(sel) { return root.querySelector(sel); }
  var ui = {
    clock: $("[data-clock]"), save: $("[data-save]"), banner: $("[data-banner]"), loading: $("[data-loading]"),
    loadError: $("[data-load-error]"), reload: $("[data-reload]"), main: $("[data-main]"), title: $("[data-title]"),
    number: $("[data-q-number]"), type: $("[data-q-type]"), flag: $("[data-flag]"), group: $("[data-group]"),
    groupRange: $("[data-group-range]"), groupStem: $("[data-group-stem]"), groupImages: $("[data-group-images]"),
    stem: $("[data-stem]"), images: $("[data-images]"), multi: $("[data-multi]"), options: $("[data-options]"),
    prev: $("[data-prev]"), next: $("[data-next]"), clear: $("[data-clear]"), nav: $("[data-nav]"),
    progress: $("[data-progress]"), submit: $("[data-submit]"), result: $("[data-result]"),
    confirm: $("[data-confirm]"), timeup: $("[data-timeup]"), question: $("[data-question]")
  };

  // state: loading | answering | closing (time is up, waiting for the server) | taken | done
  var state = "loading", paper = null, items = [], groups = {}, answers = {}, current = 1;
  var token = null, offset = 0, deadline = null, events = null, retryTimer = null, retryDelay = 2000, flushing = null;
  var local = readLocal();  // { seq: last client sequence number, pending: { item: {choice, flagged, seq} } }

  function readLocal() {
    try {
      var s = JSON.parse(fetchStored(KEY) || "null");
      if (s && typeof s.seq === "number" && s.pending && typeof s.pending === "object") return s;
    } catch (e) { /* damaged: start afresh */ }
    return { seq: 0, pending: {} };
  }
  function writeLocal() { store(KEY, JSON.stringify(local)); }
  function pendingCount() { return Object.keys(local.pending).length; }

  function setSave(kind) {
    var words = { saved: "已保存", saving: "保存中…", local: "仅保存在本机，联网后自动上传", idle: "" };
    ui.save.dataset.save = kind; ui.save.textContent = words[kind];
  }
  function banner(text, kind) {
    ui.banner.textContent = ""; ui.banner.className = "banner " + (kind || "notice");
    if (text instanceof Node) ui.banner.appendChild(text); else ui.banner.textContent = text || "";
    ui.banner.hidden = !text;
  }

  // ---- the server's clock: offset = server time - local time, corrected for half the round trip
  var syncedAt = 0;  // when the server's time was last read: a clock sync or a save's reply
  function setClock(now, t0, t1) {
    var rtt = t1 - t0;
    if (rtt < 5000 || deadline === null) offset = Date.parse(now) + rtt / 2 - t1;
    syncedAt = t1;
  }
  async function syncClock() {
    var t0 = Date.now(), r = await dk.api("GET", BASE + "/clock?device=" + encodeURIComponent(DEVICE), undefined, tokenHeader()), t1 = Date.now();
    if (!r.ok) return r;
    setClock(r.data.now, t0, t1);
    deadline = Date.parse(r.data.deadline);
    if (r.data.state !== "in_progress") { finish(); }
    else if (!r.data.device_current && state !== "loading") { takenOver(); }
    else if (state === "closing" && deadline > serverNow()) { resume(); }
    return r;
  }
  // Saves and clock syncs go with the attempt's own token (from the claim): the server checks its
  // signature instead of looking up the login session, which keeps the hot path to one database statement.
  function tokenHeader() { return token ? { "X-Attempt-Token": token } : undefined; }
  function serverNow() { return Date.now() + offset; }
  function quietSync() { syncClock().catch(function () { /* offline: the local clock carries on */ }); }

  function tick() {
    if (deadline === null || state === "done" || state === "taken") return;
    var left = Math.max(0, Math.ceil((deadline - serverNow()) / 1000));
    var h = Math.floor(left / 3600), m = Math.floor(left % 3600 / 60), s = left % 60;
    ui.clock.textContent = (h ? h + ":" + ("0" + m).slice(-2) : ("0" + m).slice(-2)) + ":" + ("0" + s).slice(-2);
    ui.clock.classList.toggle("low", left <= 300);
    if (left <= 0 && state === "answering") timeUp();
  }

  // ---- saving: every answer gets the next sequence number and is kept locally until acknowledged
  function record(item, choice, flagged) {
    if (state !== "answering") return;
    local.seq += 1;
    local.pending[item] = { choice: choice, flagged: flagged, seq: local.seq };
    writeLocal();
    answers[item] = { choice: choice, flagged: flagged };
    renderNav();
    flush();
  }
  function flush() {
    if (!flushing) flushing = doFlush().finally(function () { flushing = null; });
    return flushing;
  }
  function scheduleRetry() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(flush, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 15000);
  }
  async function doFlush() {
    for (;;) {
      if (state !== "answering" && state !== "closing") return;
      var list = Object.keys(local.pending).map(function (k) {
        var p = local.pending[k]; return { item: Number(k), choice: p.choice, flagged: p.flagged, seq: p.seq };
      }).slice(0, 200);
      if (!list.length) { setSave("saved"); return; }
      setSave("saving");
      var r, t0 = Date.now();
      try { r = await dk.api("POST", BASE + "/answers", { device: DEVICE, answers: list }, tokenHeader()); }
      catch (e) { setSave("local"); scheduleRetry(); return; }
      if (r.ok) {
        retryDelay = 2000;
        if (r.data.now) setClock(r.data.now, t0, Date.now());  // a saved answer is a clock sync too
        var done = 0;
        (r.data.saved || []).concat(r.data.stale || []).forEach(function (s) {
          var p = local.pending[s.item];
          if (p && p.seq <= s.seq) { delete local.pending[s.item]; done += 1; }
        });
        writeLocal();
        if (r.data.deadline) deadline = Date.parse(r.data.deadline);
        var newer = list.some(function (a) { return local.pending[a.item] && local.pending[a.item].seq > a.seq; });
        if (!done && !newer && pendingCount() <= list.length) { scheduleRetry(); return; }
        continue;  // answers given while this request was in flight go next
      }
      var code = r.data.error && r.data.error.code;
      if (r.status === 409 && code === "taken_over") { takenOver(); return; }
      if (r.status === 409 && code === "time_up") { lostAfterDeadline(list, r.data.error.message); return; }
      if (r.status === 400 || r.status === 422) {
        // The paper refused these answers (cannot happen from this page): drop them rather than retry forever.
        list.forEach(function (a) { if (local.pending[a.item] && local.pending[a.item].seq === a.seq) delete local.pending[a.item]; });
        writeLocal();
        banner("部分答案未能保存：" + ((r.data.error && r.data.error.message) || r.status), "alert");
        continue;
      }
      setSave("local"); scheduleRetry(); return;  // server or database unavailable: keep them here, retry
    }
  }
  function lostAfterDeadline(list, message) {
    var numbers = list.map(function (a) { return a.item; }).sort(function (a, b) { return a - b; });
    local.pending = {}; writeLocal();
    banner((message || "考试时间已到") + "：第 " + numbers.join("、") + " 题在截止时间之后的作答未能保存。", "alert");
    timeUp();
  }

  // ---- rendering
  function isAnswered(n) { return !!(answers[n] && answers[n].choice); }
  function isFlagged(n) { return !!(answers[n] && answers[n].flagged); }
  function images(box, list) {
    box.innerHTML = "";
    (list || []).forEach(function (img) { var i = el("img"); i.src = img.src; i.alt = img.name || "试题图片"; box.appendChild(i); });
  }
  function show(n, scroll) {
    current = Math.min(Math.max(1, n), items.length);
    var it = items[current - 1], a = answers[current] || { choice: "", flagged: false };
    ui.number.textContent = "第 " + current + " 题 / 共 " + items.length + " 题";
    ui.type.textContent = it.type_label + " · " + pts(it.points) + " 分";
    var g = it.group !== null && it.group !== undefined ? groups[it.group] : null;
    ui.group.hidden = !g;
    if (g) {
      var first = g.items[0], last = g.items[g.items.length - 1];
      ui.groupRange.textContent = "第 " + first + "–" + last + " 题" + (g.type === "B1" ? "共用备选答案，每题从下列选项中选择一个" : "共用以下题干");
      ui.groupStem.textContent = g.type === "B1" ? "" : g.stem;
      images(ui.groupImages, g.images);
    }
    ui.stem.textContent = it.stem;
    images(ui.images, it.images);
    ui.multi.hidden = !it.multiple;
    ui.options.innerHTML = "";
    ui.options.setAttribute("role", it.multiple ? "group" : "radiogroup");
    it.options.forEach(function (o) {
      var label = el("label", null, "opt"), input = el("input");
      input.type = it.multiple ? "checkbox" : "radio"; input.name = "opt"; input.value = o.label;
      input.checked = a.choice.indexOf(o.label) >= 0; input.disabled = state !== "answering";
      label.appendChild(input);
      if (it.type !== "TF") label.appendChild(el("b", o.label));
      label.appendChild(el("span", o.text));
      label.classList.toggle("chosen", input.checked);
      ui.options.appendChild(label);
    });
    ui.flag.setAttribute("aria-pressed", a.flagged ? "true" : "false");
    ui.flag.textContent = a.flagged ? "已标记" : "标记";
    ui.prev.disabled = current === 1;
    ui.next.disabled = current === items.length;
    ui.clear.hidden = !a.choice;
    renderNav();
    if (scroll) ui.question.scrollIntoView({ block: "start" });
  }
  function renderNav() {
    var done = 0;
    Array.prototype.forEach.call(ui.nav.children, function (b, i) {
      var n = i + 1;
      b.classList.toggle("answered", isAnswered(n)); b.classList.toggle("flagged", isFlagged(n));
      b.classList.toggle("current", n === current);
      b.setAttribute("aria-label", "第 " + n + " 题，" + (isAnswered(n) ? "已答" : "未答") + (isFlagged(n) ? "，已标记" : ""));
      if (isAnswered(n)) done += 1;
    });
    ui.progress.textContent = "已答 " + done + " / " + items.length;
  }
  function lockInputs() {
    root.querySelectorAll(".question input, .question button, [data-submit]").forEach(function (b) { b.disabled = true; });
  }

  ui.options.addEventListener("change", function () {
    var it = items[current - 1], picked = [];
    ui.options.querySelectorAll("input").forEach(function (i) { if (i.checked) picked.push(i.value); i.parentNode.classList.toggle("chosen", i.checked); });
    record(current, picked.sort().join(""), isFlagged(current));
    ui.clear.hidden = !picked.length;
    if (!it.multiple) renderNav();
  });
  ui.clear.addEventListener("click", function () { record(current, "", isFlagged(current)); show(current); });
  ui.flag.addEventListener("click", function () {
    record(current, (answers[current] || {}).choice || "", !isFlagged(current)); show(current);
  });
  ui.prev.addEventListener("click", function () { show(current - 1, true); });
  ui.next.addEventListener("click", function () { show(current + 1, true); });
  ui.nav.addEventListener("click", function (ev) {
    var b = ev.target.closest("button[data-n]"); if (b) show(Number(b.dataset.n), true);
  });

  // ---- submitting
  ui.submit.addEventListener("click", function () {
    if (state !== "answering") return;
    var missing = [], flagged = [];
    items.forEach(function (it) { if (!isAnswered(it.number)) missing.push(it.number); if (isFlagged(it.number)) flagged.push(it.number); });
    $("[data-confirm-text]").textContent = missing.length
      ? "还有 " + missing.length + " 题未作答：第 " + missing.join("、") + " 题。交卷后不能再修改，确定交卷吗？"
      : "全部 " + items.length + " 题均已作答。交卷后不能再修改，确定交卷吗？";
    var fl = $("[data-confirm-flagged]"); fl.hidden = !flagged.length;
    fl.textContent = "已标记待检查：第 " + flagged.join("、") + " 题。";
    $("[data-confirm-error]").hidden = true;
    ui.confirm.hidden = false;
    $("[data-confirm-cancel]").focus();
  });
  $("[data-confirm-cancel]").addEventListener("click", function () { ui.confirm.hidden = true; });
  $("[data-confirm-ok]").addEventListener("click", async function () {
    var btn = this, err = $("[data-confirm-error]");
    btn.disabled = true; err.hidden = true;
    try {
      await flush();
      if (pendingCount()) { err.textContent = "还有 " + pendingCount() + " 题的答案仅保存在本机，请联网后再交卷。"; err.hidden = false; return; }
      if (state !== "answering") { ui.confirm.hidden = true; return; }
      var r = await dk.api("POST", BASE + "/submit", { device: DEVICE, confirm: true });
      var code = r.data.error && r.data.error.code;
      if (r.ok) { ui.confirm.hidden = true; showResult(r.data.attempt); return; }
      if (code === "taken_over") { ui.confirm.hidden = true; takenOver(); return; }
      if (code === "already_submitted") { ui.confirm.hidden = true; finish(); return; }
      err.textContent = (r.data.error && r.data.error.message) || "交卷失败（" + r.status + "）"; err.hidden = false;
    } catch (e) { err.textContent = "网络连接失败，请联网后再交卷。"; err.hidden = false; }
    finally { btn.disabled = false; }
  });

  // ---- ends: time up, another device, submitted
  var pollTimer = null;
  function timeUp() {
    if (state !== "answering") return;
    state = "closing"; lockInputs(); ui.confirm.hidden = true; ui.timeup.hidden = false;
    clearInterval(pollTimer);
    pollTimer = setInterval(closingPoll, 2000);
    closingPoll();
  }
  function closingPoll() { flush().finally(quietSync); }
  function resume() {  // extra time arrived while the page waited for the submission
    clearInterval(pollTimer); ui.timeup.hidden = true; state = "answering";
    root.querySelectorAll("[data-submit], .question button").forEach(function (b) { b.disabled = false; });
    show(current);
  }
  function takenOver() {
    if (state === "taken" || state === "done") return;
    state = "taken"; lockInputs(); stopLive(); ui.confirm.hidden = true; ui.timeup.hidden = true;
    // Answers this page could not upload are dropped: replayed later they could overwrite newer ones.
    var lost = pendingCount();
    local.pending = {}; writeLocal();
    var box = el("span"), again = el("button", "在本设备继续作答", "btn small");
    box.appendChild(el("b", "本场考试已在另一台设备上继续作答，此页面已停止作答。"));
    if (lost) box.appendChild(document.createTextNode("本页有 " + lost + " 题的作答未能上传，请在正在作答的设备上核对。"));
    box.appendChild(document.createTextNode(" 如需回到本设备作答，请点击："));
    again.type = "button"; again.addEventListener("click", function () { location.reload(); });
    box.appendChild(again);
    banner(box, "alert");
    ui.save.dataset.save = "idle"; ui.save.textContent = "已停止作答";
  }
  var finishing = false;
  async function finish() {
    if (state === "done" || finishing) return;
    finishing = true;
    try {
      if (pendingCount()) await flush();  // a late answer is either saved or reported as not saved
      var r = await dk.api("GET", BASE + "?device=" + encodeURIComponent(DEVICE));
      if (r.ok && r.data.attempt.state !== "in_progress") showResult(r.data.attempt);
    } catch (e) { /* offline: the poll tries again */ }
    finally { finishing = false; }
  }
  function showResult(a) {
    state = "done"; stopLive(); clearInterval(pollTimer);
    ui.timeup.hidden = true; ui.confirm.hidden = true; ui.main.hidden = true; ui.loading.hidden = true;
    root.querySelector("[data-bar]").hidden = true;
    var lost = pendingCount();
    local.pending = {}; writeLocal();
    $("[data-result-title]").textContent = a.title + (a.attempt_no > 1 ? "（第 " + a.attempt_no + " 次）" : "");
    var words = $("[data-result-words]");
    if (a.score === null || a.score === undefined) { words.textContent = "已交卷，正在评分"; setTimeout(finish, 2000); state = "closing"; }
    else { words.textContent = a.passed ? "通过" : "未通过"; words.className = "state " + (a.passed ? "passed" : "failed"); }
    words.dataset.passed = a.passed ? "1" : "0";
    $("[data-result-score]").textContent = a.score === null || a.score === undefined ? "—" : pts(a.score) + " / " + pts(a.max_score) + " 分";
    $("[data-result-pass]").textContent = pts(a.pass_mark) + " 分";
    $("[data-result-how]").textContent = a.submit_words || "";
    $("[data-result-at]").textContent = a.submitted_at ? beijing(Date.parse(a.submitted_at), true) : "";
    var note = $("[data-result-note]");
    note.hidden = !lost; note.textContent = lost ? "有 " + lost + " 题的作答在交卷前未能上传，未计入成绩。" : "";
    ui.result.hidden = false;
    if (!ui.banner.classList.contains("alert")) banner("");
    if (a.score !== null && a.score !== undefined) nextStep(a);
  }
  // What the physician does next, from 我的考试's own account: the next paper, or the attempts left.
  async function nextStep(a) {
    var box = $("[data-next-step]"), r;
    try { r = await dk.api("GET", "/api/v1/exams"); } catch (e) { return; }
    if (!r.ok) return;
    var papers = r.data.papers || [], i = papers.map(function (p) { return p.kind; }).indexOf(a.kind);
    var mine = papers[i], next = papers.slice(i + 1).filter(function (p) { return p.outcome !== "passed" && p.outcome !== "waived"; })[0];
    var until = function (p) { return p.window_end ? "，开放至 " + beijing(Date.parse(p.window_end), true) : ""; };
    var text;
    if (a.passed && next) text = a.title + "已通过。请继续参加" + next.title + until(next) + "（在“我的考试”中开始）。";
    else if (a.passed) text = "全部测评已完成。考核结果待考核机构公布，公布后将通过站内消息和短信通知您。";
    else if (mine && mine.attempts_left > 0) text = "本次未通过。" + a.title + "还可考 " + mine.attempts_left + " 次（共 " + mine.attempts_allowed + " 次）" + until(mine) + "，可在“我的考试”中再次开始。";
    else text = "本次未通过，" + a.title + "的考试次数已用完（共 " + (mine ? mine.attempts_allowed : 1) + " 次）。考核结果待考核机构公布。";
    box.textContent = text; box.hidden = false;
  }

  // ---- server pushes
  function openEvents() {
    if (!window.EventSource || (events && events.readyState !== 2)) return;
    // EventSource sends no custom header: the attempt's token goes in the query (no session lookup).
    events = new EventSource(BASE + "/events" + (token ? "?token=" + encodeURIComponent(token) : ""));
    events.onmessage = function (ev) {
      var d; try { d = JSON.parse(ev.data); } catch (e) { return; }
      if (d.event === "deadline" && d.deadline) {
        var before = deadline;
        deadline = Date.parse(d.deadline); tick();
        var earlier = before !== null && deadline < before;
        var why = d.why === "window" ? (earlier ? "考试开放时间已调整，截止时间提前" : "考试开放时间已调整")
          : "考试时间已延长" + (d.extra_minutes ? "（累计 " + d.extra_minutes + " 分钟）" : "");
        banner(why + "，新的截止时间为 " + beijing(deadline) + "。", earlier ? "alert" : "notice");
        if (state === "closing" && deadline > serverNow()) resume();
      } else if (d.event === "takeover") { if (d.device !== DEVICE) takenOver(); }
      // The invigilator's warning: proctor.js shows it when the camera is in use; without it, here.
      else if (d.event === "warning" && !window.dkProctor) banner("监考员提醒：" + (d.message || "请遵守考场纪律"), "alert");
      else if (d.event === "submitted") {
        if (d.reason) banner("考试已被结束：" + d.reason, "alert");
        finish();
      }
    };
  }
  // The header's 退出 asks first while the clock runs here (app.js).
  dk.logoutWarning = function () {
    if (deadline === null || state === "done" || state === "taken") return null;
    return ["退出登录不会暂停计时：截止时间 " + beijing(deadline) + "（北京时间）一到，系统即自动交卷，已保存的答案照常计分。",
            "已作答的内容已保存，可在截止前重新登录继续作答。"];
  };
  function stopLive() {
    if (events) { events.close(); events = null; } clearInterval(pollTimer); clearTimeout(retryTimer);
    // No longer answering here (submitted, ended, taken over): the camera goes off with the rest.
    if (window.dkProctor) window.dkProctor.stop();
  }

  // ---- start: claim this device, load the paper and saved answers, replay what is only local
  async function start() {
    ui.loadError.hidden = true; ui.reload.hidden = true;
    try {
      var c = await dk.api("POST", BASE + "/claim", { device: DEVICE });
      if (!c.ok) throw new Error((c.data.error && c.data.error.message) || "无法进入考试（" + c.status + "）");
      token = c.data.token || null;
      if (c.data.took_over) banner("已在本设备继续作答，另一台设备上的页面已停止作答。");
      // Proctored sittings: webcam frames and browser events go with the attempt's own token.
      if (root.dataset.proctored === "true" && window.dkProctor) window.dkProctor.start(ATTEMPT, c.data.token, DEVICE);
      var r = await dk.api("GET", BASE + "?device=" + encodeURIComponent(DEVICE));
      if (!r.ok) throw new Error((r.data.error && r.data.error.message) || "无法加载试卷（" + r.status + "）");
      if (r.data.attempt.state !== "in_progress") { showResult(r.data.attempt); return; }
      paper = r.data.paper; items = paper.items;
      paper.groups.forEach(function (g) { groups[g.index] = g; });
      var saved = r.data.answers || {};
      Object.keys(saved).forEach(function (k) {
        answers[k] = { choice: saved[k].choice, flagged: saved[k].flagged };
        local.seq = Math.max(local.seq, saved[k].seq);
        if (local.pending[k] && local.pending[k].seq <= saved[k].seq) delete local.pending[k];
      });
      Object.keys(local.pending).forEach(function (k) { answers[k] = { choice: local.pending[k].choice, flagged: local.pending[k].flagged }; });
      writeLocal();
      deadline = Date.parse(r.data.attempt.deadline);
      offset = Date.parse(r.data.attempt.now) - Date.now();
    } catch (e) {
      ui.loadError.textContent = e instanceof TypeError ? "网络连接失败，请联网后重新加载。" : e.message;
      ui.loadError.hidden = false; ui.reload.hidden = false;
      return;
    }
    ui.title.textContent = r.data.attempt.title;
    items.forEach(function (it) {
      var b = el("button", String(it.number), "nav-btn"); b.type = "button"; b.dataset.n = it.number; ui.nav.appendChild(b);
    });
    ui.loading.hidden = true; ui.main.hidden = false;
    state = "answering";
    var firstOpen = items.find(function (it) { return !isAnswered(it.number); });
    show(firstOpen ? firstOpen.number : 1);
    setSave(pendingCount() ? "local" : "saved");
    openEvents();
    setInterval(tick, 250); tick();
    await syncClock().catch(function () { /* the clock from the paper response stands */ });
    tick();
    // Every 30 s, unless a save's reply brought the server's time since: an answering candidate
    // sends one request per answer, not a clock sync beside it.
    setInterval(function () { if (Date.now() - syncedAt >= 25000) quietSync(); }, 30000);
    flush();
  }
  function wake() {
    if (state === "loading" || state === "done" || state === "taken") return;
    flush().finally(quietSync); openEvents();
  }
  document.addEventListener("visibilitychange", function () { if (!document.hidden) wake(); });
  window.addEventListener("focus", wake);
  window.addEventListener("online", function () { retryDelay = 2000; wake(); });
  window.addEventListener("pageshow", wake);
  ui.reload.addEventListener("click", start);
  start();
})();
