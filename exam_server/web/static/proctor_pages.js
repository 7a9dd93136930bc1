// Proctoring pages: consent, the pre-exam identity check, 监考工作台, assignment, review.
(function () {
  "use strict";
  var api = window.dk.api;
  function $(root, sel) { return root.querySelector(sel); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function fail(root, error) {
    var box = $(root, "[data-form-error]");
    box.textContent = (error && error.message) || "操作失败，请稍后重试";
    box.hidden = false;
  }
  function time(iso) { return iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : ""; }
  var sleep = function (ms) { return new Promise(function (r) { setTimeout(r, ms); }); };

  // ------------------------------------------------------------ consent
  var consent = document.getElementById("consent");
  if (consent) {
    (async function () {
      var r = await api("GET", "/api/v1/proctoring/consent");
      $(consent, "[data-loading]").hidden = true;
      if (!r.ok) return fail(consent, r.data.error);
      var box = $(consent, "[data-sections]");
      r.data.sections.forEach(function (s) { box.appendChild(el("h2", {}, s.title)); box.appendChild(el("p", {}, s.text)); });
      $(consent, "[data-version]").textContent = "授权书版本 " + r.data.version;
      var st = $(consent, "[data-state]");
      st.hidden = false;
      st.textContent = r.data.accepted ? "您已于 " + time(r.data.accepted_at) + " 同意本授权。" : "您尚未同意本授权；不同意时可联系考核机构人工核验身份。";
      $(consent, "[data-accept]").hidden = r.data.accepted;
      $(consent, "[data-withdraw]").hidden = !r.data.accepted;
      $(consent, "[data-accept]").onclick = async function () {
        var a = await api("POST", "/api/v1/proctoring/consent", { version: r.data.version });
        if (a.ok) location.href = consent.dataset.next; else fail(consent, a.data.error);
      };
      $(consent, "[data-withdraw]").onclick = async function () {
        if (!confirm("撤回后，未经人工核验不能开始新的考试。确定撤回？")) return;
        var w = await api("POST", "/api/v1/proctoring/consent/withdraw", { confirm: true });
        if (w.ok) location.reload(); else fail(consent, w.data.error);
      };
    })();
  }

  // ------------------------------------------------------------ pre-exam identity check
  var check = document.getElementById("check");
  if (check) {
    var kind = check.dataset.kind, status = $(check, "[data-status]"), video = $(check, "[data-preview]");
    var challenge = null;
    $(check, "[data-consent]").href = "/proctoring/consent?next=" + encodeURIComponent(location.pathname + location.search);
    var PHASE_MS = 2500, SHOTS = [0.3, 0.5, 0.7];
    function say(text) { status.textContent = text; }
    // Where the check stands, for people (the status line) and for tests (#check[data-state]):
    // consent | unenrolled | ready | asking | opening | capturing | judging | passed | failed | locked |
    // camera_error | error.
    function stage(name) { check.dataset.state = name; }
    function show(sel, on) { $(check, sel).hidden = !on; }
    function cameraWords(e) {
      if (!e) return "无法打开摄像头";
      if (e.name === "NotAllowedError" || e.name === "SecurityError") return "您拒绝了摄像头权限。请在浏览器地址栏的权限设置中允许本网站使用摄像头，然后刷新页面。";
      if (e.name === "NotFoundError" || e.name === "OverconstrainedError") return "未检测到摄像头。请连接摄像头或换用带摄像头的设备。";
      if (e.name === "NotReadableError") return "摄像头正被其他程序占用，请关闭其他使用摄像头的程序后重试。";
      return "无法打开摄像头（" + e.name + "）";
    }
    async function openCamera() {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw { name: "NotFoundError" };
      var stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
      video.srcObject = stream;
      await video.play();
      return stream;
    }
    function closeCamera() {
      if (video.srcObject) video.srcObject.getTracks().forEach(function (t) { t.stop(); });
      video.srcObject = null;
    }
    function grab() {
      var c = document.createElement("canvas");
      c.width = 640; c.height = Math.round(640 * (video.videoHeight || 480) / (video.videoWidth || 640));
      c.getContext("2d").drawImage(video, 0, 0, c.width, c.height);
      return c.toDataURL("image/jpeg", 0.85);
    }
    async function refresh() {
      var r = await api("GET", "/api/v1/identity-checks/status?kind=" + encodeURIComponent(kind));
      if (!r.ok) return fail(check, r.data.error);
      var s = r.data;
      show("[data-consent]", false); show("[data-begin]", false); show("[data-start-exam]", false); show("[data-camera]", false);
      stage(s.passed_check_id ? "passed" : !s.consent ? "consent" : !s.enrolled ? "unenrolled" : s.locked ? "locked" : "ready");
      if (s.passed_check_id) { say(s.manual ? "考核机构已人工核验您的身份，可以开始考试。" : "身份核验已通过，请在 15 分钟内开始考试。"); show("[data-start-exam]", true); return; }
      manualPanel(s, false);
      if (!s.consent) { say("开考前须阅读并同意《人脸信息采集授权》。如不同意，请联系考核机构人工核验身份。"); show("[data-consent]", true); manualPanel(s, true); return; }
      if (!s.enrolled) { say("您的报名照片尚未登记人脸信息，请联系考核机构人工核验身份。"); manualPanel(s, true); return; }
      if (s.locked) { say("身份核验已连续 3 次未通过，请联系考核机构人工核验身份。"); manualPanel(s, true); return; }
      say("请先检测摄像头。剩余核验次数：" + s.failures_left);
      show("[data-camera]", true);
    }
    // Where the physician who cannot pass the face check turns: the body's contact, and its refusal if any.
    function manualPanel(s, on) {
      var panel = $(check, "[data-manual]");
      panel.hidden = !on;
      if (!on) return;
      $(panel, "[data-manual-words]").textContent = s.refused
        ? "考核机构已于 " + time(s.refused.at) + " 人工核验，结论为核验不通过：" + s.refused.note + "。如有异议，请再次联系考核机构。"
        : "人脸核验无法通过时，由考核机构核对您的身份证件后人工核验。";
      $(panel, "[data-body-name]").textContent = s.body_name || "所属考核机构";
      $(panel, "[data-body-contact]").textContent = s.body_contact || "考核机构尚未登记联系方式，请向所在医疗机构的定考负责人询问";
    }
    $(check, "[data-camera]").onclick = async function () {
      try { await openCamera(); closeCamera(); say("摄像头正常。点击“开始核验”获取转头顺序。"); show("[data-begin]", true); show("[data-camera]", false); }
      catch (e) { stage("camera_error"); say(cameraWords(e)); }
    };
    $(check, "[data-begin]").onclick = function () {
      // The server gives the prompts one at a time once the capture starts: a recording made before
      // cannot follow them, and each phase's frames must reach it within its time limit.
      show("[data-begin]", false);
      say("点击“我已准备好，开始”后，屏幕将逐个显示动作提示（正对摄像头、向左或向右转头），请在每个提示出现后立即完成，每个动作保持约 2 秒。");
      stage("ready"); show("[data-go]", true);
    };
    async function sendPhase(checkId, frames) {
      try { return await api("POST", "/api/v1/identity-checks/" + checkId + "/frames", { frames: frames }); }
      catch (e) { return null; }
    }
    function judged(r) {
      if (r.data.passed) { stage("passed"); say("核验通过。"); show("[data-start-exam]", true); return; }
      stage(r.data.locked ? "locked" : "failed");
      say(r.data.message + (r.data.locked ? "" : "。请重试，剩余次数：" + r.data.failures_left));
      if (!r.data.locked) show("[data-camera]", true);
    }
    $(check, "[data-go]").onclick = async function () {
      show("[data-go]", false); stage("opening");
      var r = await api("POST", "/api/v1/identity-checks", { kind: kind });
      if (!r.ok) { stage("error"); show("[data-camera]", true); return fail(check, r.data.error); }
      challenge = r.data;
      try { await openCamera(); } catch (e) { stage("camera_error"); say(cameraWords(e)); show("[data-camera]", true); return; }
      stage("capturing");
      say("请按提示动作。");
      var pose = $(check, "[data-pose]"), prompt = challenge.prompt, slot = performance.now();
      while (prompt) {
        // Phases keep a steady beat (a slot of PHASE_MS each) unless the server's next prompt comes later.
        slot = Math.max(slot, performance.now());
        pose.textContent = prompt.words; pose.dataset.phase = prompt.phase;
        var frames = [];
        for (var k = 0; k < SHOTS.length; k++) {
          var wait = slot + PHASE_MS * SHOTS[k] - performance.now();
          if (wait > 0) await sleep(wait);
          frames.push({ phase: prompt.phase, image: grab() });
        }
        if (prompt.phase === challenge.phase_count - 1) { pose.textContent = ""; closeCamera(); say("正在核验，请稍候…"); stage("judging"); }
        r = await sendPhase(challenge.check_id, frames);
        if (!r) { closeCamera(); pose.textContent = ""; stage("error"); say("网络连接失败，未能提交核验画面，请检查网络后重试。"); show("[data-camera]", true); return; }
        if (!r.ok) { closeCamera(); pose.textContent = ""; fail(check, r.data.error); await refresh(); stage("error"); return; }
        if (r.data.passed !== null) { closeCamera(); pose.textContent = ""; return judged(r); }
        prompt = r.data.prompt;
        slot += PHASE_MS;
      }
    };
    $(check, "[data-start-exam]").onclick = async function () {
      // The exam page claims the attempt with the same device id and starts the proctoring there.
      var r = await api("POST", "/api/v1/exams/start", { kind: kind, device: window.dk.deviceId() });
      if (r.ok) { location.href = "/exams/attempt/" + r.data.attempt_id; return; }
      var err = r.data.error || {};
      if (err.fields && err.fields.attempt_id) { location.href = "/exams/attempt/" + err.fields.attempt_id; return; }
      fail(check, err);
    };
    refresh();
  }

  // ------------------------------------------------------------ 监考工作台
  var dash = document.getElementById("dashboard");
  if (dash) {
    var select = $(dash, "[data-schedule]"), grid = $(dash, "[data-grid]"), alertsBox = $(dash, "[data-alerts]");
    var link = $(dash, "[data-link]"), dialog = $(dash, "[data-detail]");
    var candidates = {}, lastId = 0, socket = null, current = null, retry = 1000;
    var VERDICT_WORDS = { ok: "本人", no_face: "无人", several_faces: "多人", another_person: "疑似他人", poor_image: "画面不清" };
    function renderCard(c) {
      var card = grid.querySelector('[data-attempt="' + c.attempt_id + '"]');
      if (!card) {
        card = el("button", { type: "button", class: "cand", "data-attempt": c.attempt_id });
        card.onclick = function () { openDetail(c.attempt_id); };
        grid.appendChild(card);
      }
      card.innerHTML = "";
      var img = el("img", { alt: c.name + " 的最新画面", src: c.thumb || "data:," });
      card.appendChild(img);
      card.appendChild(el("strong", {}, c.name));
      card.appendChild(el("span", { class: "inst" }, c.institution));
      var words = VERDICT_WORDS[c.verdict] || "待分析";
      card.appendChild(el("span", { class: "id " + (c.verdict || "none"), "data-identity": "" }, words + (c.analysis_delayed ? "（分析延迟）" : "")));
      card.appendChild(el("span", { class: "v", "data-violations": "" }, "违规 " + c.violations));
      var left = Math.max(0, Math.round((new Date(c.deadline) - Date.now()) / 60000));
      card.appendChild(el("span", { class: "left" }, "剩余 " + left + " 分钟"));
      var conn = c.connection || {};
      card.appendChild(el("span", { class: "conn " + conn.state }, conn.words + (conn.since ? " 自 " + time(conn.since) : "")));
      card.classList.toggle("alarm", c.violations > 0);
    }
    function addAlert(e) {
      if (!e || e.severity < 1) return;
      var name = (candidates[e.attempt_id] || {}).name || ("考试 " + e.attempt_id);
      var li = el("li", { class: "sev" + e.severity, "data-severity": e.severity, "data-kind": e.kind },
        time(e.at) + " " + name + "：" + ((e.detail && e.detail.words) || e.kind) + (e.detail && e.detail.message ? "（" + e.detail.message + "）" : ""));
      li.onclick = function () { openDetail(e.attempt_id); };
      // Most severe first, newest first within a severity.
      var before = Array.prototype.find.call(alertsBox.children, function (x) { return Number(x.dataset.severity) <= e.severity; });
      alertsBox.insertBefore(li, before || null);
      while (alertsBox.children.length > 200) alertsBox.lastChild.remove();
    }
    function apply(msg) {
      if (msg.type === "snapshot") {
        grid.innerHTML = ""; alertsBox.innerHTML = ""; candidates = {};
        msg.candidates.forEach(function (c) { candidates[c.attempt_id] = c; renderCard(c); });
        msg.alerts.slice().reverse().forEach(addAlert);
        lastId = Math.max(lastId, msg.last_event_id || 0);
      } else if (msg.type === "catchup") {
        msg.events.forEach(function (e) { lastId = Math.max(lastId, e.id); addAlert(e); });
      } else if (msg.type === "event") {
        var e = msg.event || {}, c = candidates[(msg.candidate || {}).attempt_id || e.attempt_id];
        if (e.id) lastId = Math.max(lastId, e.id);
        if (c) {
          Object.keys(msg.candidate || {}).forEach(function (k) { c[k] = msg.candidate[k]; });
          if (e.kind === "violation") c.violations += 1;
          if (e.kind === "submitted") delete candidates[c.attempt_id];
          renderCard(c);
        } else if (e.attempt_id) { reconnect(0); return; }
        addAlert(e);
        if (current === e.attempt_id) openDetail(current);
      } else if (msg.type === "resync") { reconnect(0); }
    }
    function connect() {
      var id = select.value;
      if (!id) return;
      var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/invigilation/" + id + (lastId ? "?since=" + lastId : "");
      socket = new WebSocket(url);
      socket.onopen = function () { link.textContent = "实时连接"; link.dataset.state = "open"; retry = 1000; };
      socket.onmessage = function (ev) { apply(JSON.parse(ev.data)); };
      socket.onclose = function () { link.textContent = "连接中断，正在重连…"; link.dataset.state = "closed"; reconnect(retry); retry = Math.min(retry * 2, 15000); };
    }
    function reconnect(ms) {
      if (socket) { socket.onclose = null; try { socket.close(); } catch (e) { /* closed */ } socket = null; }
      setTimeout(connect, ms);
    }
    async function openDetail(attemptId) {
      current = attemptId;
      var r = await api("GET", "/api/v1/attempts/" + attemptId + "/timeline");
      if (!r.ok) return fail(dash, r.data.error);
      var c = candidates[attemptId] || {};
      $(dash, "[data-detail-title]").textContent = (c.name || "") + " · 考试 " + attemptId;
      var list = $(dash, "[data-timeline]");
      list.innerHTML = "";
      r.data.events.slice().reverse().forEach(function (e) {
        var li = el("li", { class: "sev" + e.severity }, time(e.at) + " " + ((e.detail && e.detail.words) || (e.detail && e.detail.verdict) || e.kind) + (e.detail && e.detail.message ? "：" + e.detail.message : ""));
        if (e.frame || e.thumb) li.appendChild(el("img", { src: e.thumb || e.frame, alt: "证据画面", loading: "lazy" }));
        list.appendChild(li);
      });
      if (!dialog.open) dialog.showModal();
    }
    async function act(path, body) {
      var r = await api("POST", "/api/v1/attempts/" + current + path, body);
      if (!r.ok) fail(dialog, r.data.error); else $(dialog, "[data-form-error]").hidden = true;
      return r;
    }
    $(dash, "[data-warn]").onclick = function () { act("/warn", { message: $(dash, "[data-warn-text]").value }); };
    $(dash, "[data-extra]").onclick = function () { act("/extra-time", { minutes: Number($(dash, "[data-minutes]").value), reason: "监考员延时" }); };
    $(dash, "[data-end]").onclick = async function () {
      if (!confirm("确定结束该考生的考试？")) return;
      var r = await act("/end", { reason: $(dash, "[data-end-reason]").value });
      if (r.ok) { dialog.close(); reconnect(0); }
    };
    $(dash, "[data-close]").onclick = function () { current = null; dialog.close(); };
    (async function () {
      var r = await api("GET", "/api/v1/invigilation");
      if (!r.ok) return fail(dash, r.data.error);
      if (!r.data.items.length) { $(dash, "[data-empty]").hidden = false; return; }
      r.data.items.forEach(function (s) { select.appendChild(el("option", { value: s.id }, s.title + "（进行中 " + s.in_progress + " 人）")); });
      var wanted = new URLSearchParams(location.search).get("schedule");
      if (wanted) select.value = wanted;
      select.onchange = function () { lastId = 0; reconnect(0); };
      connect();
    })();
  }

  // ------------------------------------------------------------ assignment
  var assign = document.getElementById("assign");
  if (assign) {
    var sid = assign.dataset.schedule;
    async function load() {
      var r = await api("GET", "/api/v1/schedules/" + sid + "/proctoring");
      if (!r.ok) return fail(assign, r.data.error);
      $(assign, "[data-summary]").textContent = "本场考试共 " + r.data.candidates + " 名考生。";
      var rules = $(assign, "[data-rules]");
      rules.elements.frame_seconds.value = r.data.rules.frame_seconds;
      var box = $(assign, "[data-actions]"); box.innerHTML = "";
      r.data.kinds.forEach(function (k) {
        var label = el("label", {}, k.words + " ");
        var s = el("select", { name: "action_" + k.kind });
        Object.keys(r.data.consequences).forEach(function (c) { var o = el("option", { value: c }, r.data.consequences[c]); if ((r.data.rules.actions[k.kind] || "flag") === c) o.selected = true; s.appendChild(o); });
        label.appendChild(s); box.appendChild(label);
      });
      var body = $(assign, "[data-assignments]"); body.innerHTML = "";
      r.data.assignments.forEach(function (a) {
        var tr = el("tr"); tr.appendChild(el("td", {}, a.invigilator_name)); tr.appendChild(el("td", {}, a.group_words));
        var td = el("td"), b = el("button", { type: "button" }, "取消");
        b.onclick = async function () { var d = await api("POST", "/api/v1/assignments/" + a.id + "/delete", { confirm: true }); if (d.ok) load(); else fail(assign, d.data.error); };
        td.appendChild(b); tr.appendChild(td); body.appendChild(tr);
      });
      var inv = await api("GET", "/api/v1/invigilators");
      var sel = $(assign, "[data-invigilators]"); sel.innerHTML = "";
      (inv.data.items || []).forEach(function (i) { sel.appendChild(el("option", { value: i.id }, i.display_name + "（" + i.username + "）")); });
    }
    $(assign, "[data-rules]").onsubmit = async function (ev) {
      ev.preventDefault();
      var f = ev.target, actions = {};
      Array.prototype.forEach.call(f.querySelectorAll("select"), function (s) { actions[s.name.slice(7)] = s.value; });
      var r = await api("POST", "/api/v1/schedules/" + sid + "/proctoring", { frame_seconds: Number(f.elements.frame_seconds.value), actions: actions });
      if (!r.ok) { window.dk.showErrors(f, r.data.error); fail(assign, r.data.error); } else load();
    };
    $(assign, "[data-assign]").onsubmit = async function (ev) {
      ev.preventDefault();
      var f = ev.target, mode = f.elements.mode.value, body = { invigilator_id: Number(f.elements.invigilator_id.value) };
      if (mode === "block") { body.block_no = Number(f.elements.block_no.value) - 1; body.block_size = Number(f.elements.block_size.value); }
      if (mode === "institution") body.institution_id = Number(f.elements.institution_id.value);
      var r = await api("POST", "/api/v1/schedules/" + sid + "/assignments", body);
      if (!r.ok) fail(assign, r.data.error); else load();
    };
    load();
  }

  // ------------------------------------------------------------ review
  var rev = document.getElementById("review");
  var STATE_WORDS = { in_progress: "进行中", submitted: "已交卷", scored: "已评分", voided: "已作废" };
  var ACTION_WORDS = { "attempt.start": "开始考试", "attempt.submit": "交卷", "attempt.score": "评分",
    "attempt.extra_time": "延长时间", "attempt.warn": "监考员提醒", "attempt.takeover": "换设备继续",
    "attempt.void": "作废考试", "violation.confirmed": "确认违规", "violation.dismissed": "排除违规" };
  if (rev) {
    var schedule = rev.dataset.schedule;
    async function loadReview() {
      var r = await api("GET", "/api/v1/schedules/" + schedule + "/review");
      if (!r.ok) return fail(rev, r.data.error);
      $(rev, "[data-summary]").textContent = r.data.schedule.title + "：" + r.data.items.length + " 场考试有违规记录。";
      var body = $(rev, "[data-items]"); body.innerHTML = "";
      r.data.items.forEach(function (it) {
        var tr = el("tr");
        [it.name, it.institution, it.kinds.join("、"), String(it.open), it.state === "voided" ? "已作废" : (it.passed ? "通过" : it.passed === false ? "未通过" : "未评分")].forEach(function (t) { tr.appendChild(el("td", {}, t)); });
        var td = el("td"), b = el("button", { type: "button", "data-open": it.attempt_id }, "查看");
        b.onclick = function () { openAttempt(it.attempt_id, it.name); };
        td.appendChild(b); tr.appendChild(td); body.appendChild(tr);
      });
    }
    async function openAttempt(id, name) {
      var r = await api("GET", "/api/v1/attempts/" + id + "/timeline");
      if (!r.ok) return fail(rev, r.data.error);
      $(rev, "[data-attempt]").hidden = false;
      $(rev, "[data-attempt-title]").textContent = name + " · 考试 " + id + "（" + (STATE_WORDS[r.data.attempt.state] || r.data.attempt.state) + "）";
      var vs = $(rev, "[data-violations]"); vs.innerHTML = "";
      var byId = {}; r.data.events.forEach(function (e) { byId[e.id] = e; });
      r.data.violations.forEach(function (v) {
        var li = el("li", { "data-violation": v.id }, v.words + " · " + time(v.detected_at) + " · " + v.consequence_words + " · " + ({ open: "待复核", confirmed: "已确认", dismissed: "已排除" })[v.status] + (v.review_note ? "（" + v.review_note + "）" : ""));
        (v.evidence_event_ids || []).forEach(function (eid) { var e = byId[eid]; if (e && (e.frame || e.thumb)) li.appendChild(el("img", { src: e.frame || e.thumb, alt: "证据画面", loading: "lazy" })); });
        if (v.status === "open") {
          var note = el("input", { maxlength: "1000", placeholder: "复核意见", "aria-label": "复核意见" });
          var voidBox = el("label", {}, " 作废本次考试"); var cb = el("input", { type: "checkbox" }); voidBox.prepend(cb);
          var ok = el("button", { type: "button", "data-confirm": "" }, "确认违规"), no = el("button", { type: "button", "data-dismiss": "" }, "排除");
          async function decide(decision) {
            var d = await api("POST", "/api/v1/violations/" + v.id + "/review", { decision: decision, note: note.value, void: decision === "confirmed" && cb.checked });
            if (!d.ok) return fail(rev, d.data.error);
            $(rev, "[data-form-error]").hidden = true;
            loadReview(); openAttempt(id, name);
          }
          ok.onclick = function () { decide("confirmed"); }; no.onclick = function () { decide("dismissed"); };
          [note, voidBox, ok, no].forEach(function (x) { li.appendChild(x); });
        }
        vs.appendChild(li);
      });
      var tl = $(rev, "[data-timeline]"); tl.innerHTML = "";
      r.data.events.forEach(function (e) { tl.appendChild(el("li", { class: "sev" + e.severity }, time(e.at) + " " + ((e.detail && e.detail.words) || (e.detail && e.detail.verdict) || e.kind))); });
      r.data.actions.forEach(function (a) { tl.appendChild(el("li", { class: "action" }, time(a.at) + " 操作：" + (ACTION_WORDS[a.action] || a.action))); });
    }
    loadReview();
  }
})();
