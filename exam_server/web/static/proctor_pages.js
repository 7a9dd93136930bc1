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
        if (!await window.dk.confirmDialog({ title: "撤回人脸信息采集授权？", ok: "撤回授权", cancel: "保留授权", danger: true,
              lines: ["撤回后，开考前不再采集和比对您的人脸；未经考核机构人工核验身份，您不能开始新的考试。",
                      "之后可随时回到本页重新同意授权。"] })) return;
        var w = await api("POST", "/api/v1/proctoring/consent/withdraw", { confirm: true });
        if (w.ok) window.dk.reloadSaying("已撤回人脸信息采集授权。开始新的考试前，请重新同意授权或联系考核机构人工核验身份。");
        else fail(consent, w.data.error);
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
      try { if (!await window.dk.confirmExamStart(kind)) return; }
      catch (e) { return fail(check, { message: e instanceof TypeError ? "网络连接失败，请检查网络后重试" : e.message }); }
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
    var candidates = {}, lastId = 0, socket = null, current = null, retry = 1000, camera = true;
    var VERDICT_WORDS = { ok: "本人", no_face: "无人", several_faces: "多人", another_person: "疑似他人", poor_image: "画面不清" };
    function shortTime(iso) { return iso ? new Date(iso).toLocaleTimeString("zh-CN", { hour12: false }) : ""; }
    function picture(c) {
      // The latest camera frame; without one, the registration photo (so the face can still be
      // compared) or a placeholder saying why there is no picture - never a broken image.
      if (c.thumb) return el("img", { src: c.thumb, alt: c.name + " 的最新画面" });
      if (!camera && c.photo) return el("img", { src: c.photo, alt: c.name + " 的报名照片", "class": "ref" });
      return el("div", { "class": "no-picture" }, camera ? "等待摄像头画面" : "未开启摄像头监考");
    }
    function renderCard(c) {
      var card = grid.querySelector('[data-attempt="' + c.attempt_id + '"]');
      if (!card) {
        card = el("button", { type: "button", "class": "cand", "data-attempt": c.attempt_id });
        card.addEventListener("click", function () { openDetail(c.attempt_id); });
        grid.appendChild(card);
      }
      card.innerHTML = "";
      card.appendChild(picture(c));
      card.appendChild(el("strong", {}, c.name));
      card.appendChild(el("span", { "class": "inst" }, c.institution));
      if (camera) {
        var words = VERDICT_WORDS[c.verdict] || "待分析";
        card.appendChild(el("span", { "class": "id " + (c.verdict || "none"), "data-identity": "" }, "人脸：" + words + (c.analysis_delayed ? "（分析延迟）" : "")));
      }
      card.appendChild(el("span", { "class": "v", "data-violations": "" }, "违规 " + c.violations));
      var left = Math.max(0, Math.round((new Date(c.deadline) - Date.now()) / 60000));
      card.appendChild(el("span", { "class": "left" }, "剩余 " + left + " 分钟"));
      var conn = c.connection || {};
      card.appendChild(el("span", { "class": "conn " + (conn.state || "offline"), "data-connection": "" }, (conn.words || "状态未知") + (conn.since ? "（自 " + shortTime(conn.since) + "）" : "")));
      card.classList.toggle("alarm", c.violations > 0);
      $(dash, "[data-no-candidates]").hidden = Object.keys(candidates).length > 0;
    }
    function addAlert(e) {
      // Only stored events with a time and some weight; a heartbeat only refreshes the card.
      if (!e || !e.id || !e.at || !(e.severity >= 1)) return;
      var name = (candidates[e.attempt_id] || {}).name || "考生";
      var li = el("li", { "class": "sev" + e.severity, "data-severity": e.severity, "data-kind": e.kind });
      li.appendChild(el("time", {}, shortTime(e.at)));
      li.appendChild(document.createTextNode(" " + name + "：" + (e.words || "监考事件") + (e.detail && e.detail.message ? "（" + e.detail.message + "）" : "")));
      li.addEventListener("click", function () { openDetail(e.attempt_id); });
      // Most severe first, newest first within a severity.
      var before = Array.prototype.find.call(alertsBox.children, function (x) { return Number(x.dataset.severity) <= e.severity; });
      alertsBox.insertBefore(li, before || null);
      while (alertsBox.children.length > 200) alertsBox.lastChild.remove();
      $(dash, "[data-no-alerts]").hidden = true;
    }
    function apply(msg) {
      if (msg.type === "snapshot") {
        camera = msg.camera !== false;
        $(dash, "[data-camera-off]").hidden = camera;
        grid.innerHTML = ""; alertsBox.innerHTML = ""; candidates = {};
        $(dash, "[data-no-alerts]").hidden = false;
        msg.candidates.forEach(function (c) { candidates[c.attempt_id] = c; });
        msg.candidates.forEach(renderCard);
        $(dash, "[data-no-candidates]").hidden = msg.candidates.length > 0;
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
        if (current === e.attempt_id && e.id) openDetail(current);
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
    function figure(src, caption, missing) {
      var f = el("figure", { "class": "evidence" });
      f.appendChild(src ? el("img", { src: src, alt: caption }) : el("div", { "class": "no-photo" }, missing));
      f.appendChild(el("figcaption", {}, caption)); return f;
    }
    async function openDetail(attemptId) {
      current = attemptId;
      var r = await api("GET", "/api/v1/attempts/" + attemptId + "/timeline");
      if (!r.ok) return fail(dash, r.data.error);
      var c = candidates[attemptId] || {}, who = r.data.who;
      $(dash, "[data-detail-title]").textContent = who.name + "（" + who.institution + "）";
      $(dash, "[data-detail-facts]").textContent = who.paper + " 第 " + who.attempt_no + " 次考试 · " + ((c.connection || {}).words || "");
      var photos = $(dash, "[data-detail-photos]"); photos.innerHTML = "";
      photos.appendChild(figure(who.photo, "报名照片", "未上传报名照片"));
      if (camera) photos.appendChild(figure(c.thumb, "最新画面", "等待摄像头画面"));
      var list = $(dash, "[data-timeline]");
      list.innerHTML = "";
      r.data.entries.slice().reverse().forEach(function (e) {
        var li = el("li", { "class": "sev" + e.severity });
        li.appendChild(el("time", {}, time(e.at))); li.appendChild(document.createTextNode(" " + e.words));
        if (e.thumb || e.frame) li.appendChild(el("img", { src: e.thumb || e.frame, alt: "证据画面", loading: "lazy" }));
        list.appendChild(li);
      });
      if (!dialog.open) { window.dk.clearErrors(dialog); $(dialog, "[data-form-ok]").hidden = true; dialog.showModal(); }
    }
    async function act(form, path, body, done) {
      window.dk.clearErrors(dialog); $(dialog, "[data-form-ok]").hidden = true;
      var r = await api("POST", "/api/v1/attempts/" + current + path, body);
      if (!r.ok) { window.dk.showErrors(form, r.data.error); fail(dialog, r.data.error); return r; }
      var ok = $(dialog, "[data-form-ok]"); ok.textContent = done; ok.hidden = false;
      return r;
    }
    function nameOf() { return (candidates[current] || {}).name || "考生"; }
    $(dash, "[data-warn-form]").addEventListener("submit", function (ev) {
      ev.preventDefault(); var f = ev.target;
      act(f, "/warn", { message: f.elements.message.value.trim() }, "已向 " + nameOf() + " 发送提醒");
    });
    $(dash, "[data-extra-form]").addEventListener("submit", function (ev) {
      ev.preventDefault(); var f = ev.target, minutes = Number(f.elements.minutes.value);
      act(f, "/extra-time", { minutes: minutes, reason: f.elements.reason.value.trim() }, "已为 " + nameOf() + " 延长 " + minutes + " 分钟");
    });
    $(dash, "[data-end-form]").addEventListener("submit", async function (ev) {
      ev.preventDefault(); var f = ev.target, reason = f.elements.reason.value.trim(), name = nameOf();
      if (!reason) { window.dk.showErrors(f, { message: "请填写结束原因", fields: { reason: "请填写结束原因" } }); return; }
      var yes = await window.dk.confirmDialog({ title: "结束 " + name + " 的考试？", danger: true, ok: "结束考试",
        lines: [["考生", name], ["原因", reason], "考试将立即交卷并按已作答内容评分，考生不能继续作答。此操作不能撤销。"] });
      if (!yes) return;
      var r = await act(f, "/end", { reason: reason }, "已结束 " + name + " 的考试");
      if (r.ok) { dialog.close(); current = null; reconnect(0); }
    });
    $(dash, "[data-close]").addEventListener("click", function () { current = null; dialog.close(); });
    (async function () {
      var r = await api("GET", "/api/v1/invigilation");
      if (!r.ok) return fail(dash, r.data.error);
      if (!r.data.items.length) { $(dash, "[data-empty]").hidden = false; link.hidden = true; return; }
      r.data.items.forEach(function (s) { select.appendChild(el("option", { value: s.id }, s.title + "（进行中 " + s.in_progress + " 人）")); });
      var wanted = new URLSearchParams(location.search).get("schedule");
      if (wanted) select.value = wanted;
      select.addEventListener("change", function () { lastId = 0; reconnect(0); });
      connect();
    })();
  }

  // ------------------------------------------------------------ assignment
  var assign = document.getElementById("assign");
  if (assign) {
    var sid = assign.dataset.schedule;
    var rulesForm = $(assign, "[data-rules]"), assignForm = $(assign, "[data-assign]");
    function said(form, text) {
      window.dk.clearErrors(form);
      var ok = $(form, "[data-form-ok]"); ok.textContent = text; ok.hidden = !text;
    }
    function refused(form, error) {
      $(form, "[data-form-ok]").hidden = true;
      window.dk.showErrors(form, error || { message: "操作失败，请稍后重试" });
      // Also beside the button that was pressed: the field may be out of sight on a phone.
      var box = $(form, "[data-form-error]"); box.textContent = (error && error.message) || "操作失败，请稍后重试"; box.hidden = false;
    }
    function fact(dl, name, value) { dl.appendChild(el("dt", {}, name)); dl.appendChild(el("dd", {}, value)); }
    function showMode() {
      var mode = assignForm.elements.mode.value;
      assign.querySelectorAll("[data-mode]").forEach(function (box) { box.hidden = box.dataset.mode !== mode; });
    }
    async function load() {
      var r = await api("GET", "/api/v1/schedules/" + sid + "/proctoring");
      if (!r.ok) return fail($(assign, "[data-load-error]").parentNode, r.data.error);
      var s = r.data.schedule, facts = $(assign, "[data-schedule-facts]"); facts.innerHTML = "";
      var kind = [s.kind_label, s.practice_category].filter(function (x) { return x && x !== s.title; }).join(" · ");
      fact(facts, "考试", s.title + (kind ? "（" + kind + "）" : ""));
      fact(facts, "试卷", s.paper_title);
      fact(facts, "考试时间", time(s.window_start) + " 至 " + time(s.window_end));
      fact(facts, "面向", s.body_name);
      fact(facts, "考生", r.data.candidates_words);
      $(assign, "[data-rules-words]").textContent = r.data.rules_words;
      rulesForm.elements.frame_seconds.value = r.data.rules.frame_seconds;
      var box = $(assign, "[data-actions]"); box.innerHTML = "";
      r.data.kinds.forEach(function (k) {
        var label = el("label", { "class": "field" }); label.appendChild(el("span", {}, k.words));
        var sel = el("select", { name: "action_" + k.kind });
        Object.keys(r.data.consequences).forEach(function (c) { var o = el("option", { value: c }, r.data.consequences[c]); if ((r.data.rules.actions[k.kind] || "flag") === c) o.selected = true; sel.appendChild(o); });
        label.appendChild(sel); box.appendChild(label);
      });
      var body = $(assign, "[data-assignments]"); body.innerHTML = "";
      $(assign, "[data-no-assignments]").hidden = r.data.assignments.length > 0;
      r.data.assignments.forEach(function (a) {
        var tr = el("tr"); tr.appendChild(el("td", {}, a.invigilator_name)); tr.appendChild(el("td", {}, a.group_words));
        var td = el("td"), b = el("button", { type: "button", "class": "btn small danger" }, "取消分配");
        b.addEventListener("click", async function () {
          var yes = await window.dk.confirmDialog({ title: "取消监考分配", ok: "取消分配", cancel: "保留", danger: true,
            lines: ["确定取消 " + a.invigilator_name + " 对“" + a.group_words + "”的监考？", "取消后，" + a.invigilator_name + " 在监考工作台不再看到这些考生。"] });
          if (!yes) return;
          var d = await api("POST", "/api/v1/assignments/" + a.id + "/delete", { confirm: true });
          if (!d.ok) return refused(assignForm, d.data.error);
          await load(); said(assignForm, "已取消 " + a.invigilator_name + " 对“" + a.group_words + "”的监考");
        });
        td.appendChild(b); tr.appendChild(td); body.appendChild(tr);
      });
      var inst = $(assign, "[data-institutions]"), keepInst = inst.value; inst.innerHTML = "";
      if (!r.data.institutions.length) inst.appendChild(el("option", { value: "" }, "本场考试暂无考生所在机构"));
      r.data.institutions.forEach(function (i) { inst.appendChild(el("option", { value: i.id }, i.name + "（" + i.candidates + " 名考生）")); });
      if (keepInst) inst.value = keepInst;
      var inv = await api("GET", "/api/v1/invigilators");
      var sel = $(assign, "[data-invigilators]"), keepInv = sel.value; sel.innerHTML = "";
      if (!(inv.data.items || []).length) sel.appendChild(el("option", { value: "" }, "本机构还没有监考员账号"));
      (inv.data.items || []).forEach(function (i) { sel.appendChild(el("option", { value: i.id }, i.display_name)); });
      if (keepInv) sel.value = keepInv;
    }
    assignForm.elements.mode.addEventListener("change", showMode);
    rulesForm.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      var actions = {}, seconds = Number(rulesForm.elements.frame_seconds.value);
      rulesForm.querySelectorAll("[data-actions] select").forEach(function (x) { actions[x.name.slice(7)] = x.value; });
      if (!Number.isInteger(seconds) || seconds < 5 || seconds > 120)
        return refused(rulesForm, { message: "拍照间隔应为 5 到 120 之间的整数（秒）", fields: { frame_seconds: "应为 5 到 120 之间的整数" } });
      var r = await api("POST", "/api/v1/schedules/" + sid + "/proctoring", { frame_seconds: seconds, actions: actions });
      if (!r.ok) return refused(rulesForm, r.data.error);
      said(rulesForm, "已保存：每 " + r.data.rules.frame_seconds + " 秒拍照一次");
    });
    assignForm.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      var f = assignForm, mode = f.elements.mode.value, body = { invigilator_id: Number(f.elements.invigilator_id.value) };
      if (!body.invigilator_id) return refused(f, { message: "请先选择监考员", fields: { invigilator_id: "请选择监考员" } });
      if (mode === "block") { body.block_no = Number(f.elements.block_no.value) - 1; body.block_size = Number(f.elements.block_size.value); }
      if (mode === "institution") {
        body.institution_id = Number(f.elements.institution_id.value);
        if (!body.institution_id) return refused(f, { message: "请选择机构", fields: { institution_id: "请选择机构" } });
      }
      var r = await api("POST", "/api/v1/schedules/" + sid + "/assignments", body);
      if (!r.ok) {
        var e = r.data.error || {};
        if (e.fields && e.fields.block_no === undefined && mode === "block" && body.block_no < 0) e.fields.block_no = "组号从 1 开始";
        return refused(f, e);
      }
      var who = f.elements.invigilator_id.selectedOptions[0].textContent;
      var what = mode === "all" ? "全部考生" : mode === "institution" ? f.elements.institution_id.selectedOptions[0].textContent
        : "第 " + (body.block_no + 1) + " 组（每组 " + body.block_size + " 人）";
      await load(); said(f, "已分配：" + who + " 负责" + what);
    });
    showMode();
    load();
  }

  // ------------------------------------------------------------ review
  var rev = document.getElementById("review");
  var STATE_WORDS = { in_progress: "进行中", submitted: "已交卷", scored: "已评分", voided: "已作废" };
  var STATUS_WORDS = { open: "待复核", confirmed: "已确认违规", dismissed: "已排除" };
  if (rev) {
    var schedule = rev.dataset.schedule, paperTitle = "";
    function figure(src, caption) {
      var f = el("figure", { "class": "evidence" });
      if (src) f.appendChild(el("img", { src: src, alt: caption, loading: "lazy" }));
      else f.appendChild(el("div", { "class": "no-photo" }, "未上传报名照片"));
      f.appendChild(el("figcaption", {}, caption)); return f;
    }
    async function loadReview() {
      var r = await api("GET", "/api/v1/schedules/" + schedule + "/review");
      if (!r.ok) return fail(rev, r.data.error);
      paperTitle = r.data.schedule.title;
      $(rev, "[data-summary]").textContent = r.data.schedule.title + "：" + (r.data.items.length ? r.data.items.length + " 场考试有违规记录。" : "没有违规记录。");
      var body = $(rev, "[data-items]"); body.innerHTML = "";
      r.data.items.forEach(function (it) {
        var tr = el("tr");
        [it.name, it.institution, it.kinds.join("、"), String(it.open), it.state === "voided" ? "已作废" : (it.passed ? "通过" : it.passed === false ? "未通过" : "未评分")].forEach(function (t) { tr.appendChild(el("td", {}, t)); });
        var td = el("td"), b = el("button", { type: "button", "class": "btn small", "data-open": it.attempt_id }, "查看");
        b.addEventListener("click", function () { openAttempt(it.attempt_id); });
        td.appendChild(b); tr.appendChild(td); body.appendChild(tr);
      });
    }
    function reported(text) { var box = $(rev, "[data-report]"); box.textContent = text; box.hidden = !text; }
    async function openAttempt(id, report) {
      var r = await api("GET", "/api/v1/attempts/" + id + "/timeline");
      if (!r.ok) return fail(rev, r.data.error);
      var who = r.data.who, attempt = r.data.attempt;
      $(rev, "[data-attempt]").hidden = false;
      $(rev, "[data-attempt-title]").textContent = who.name + "（" + who.institution + "）· " + who.paper + " 第 " + who.attempt_no + " 次考试 · " + (STATE_WORDS[attempt.state] || "状态未知");
      reported(report || "");
      var vs = $(rev, "[data-violations]"); vs.innerHTML = "";
      var byId = {}; r.data.events.forEach(function (e) { byId[e.id] = e; });
      r.data.violations.forEach(function (v) {
        var box = el("article", { "class": "violation", "data-violation": v.id });
        box.appendChild(el("h3", {}, v.words + " · " + STATUS_WORDS[v.status]));
        box.appendChild(el("p", { "class": "hint" }, "发现于 " + time(v.detected_at) + " · 处理方式：" + v.consequence_words + (v.review_note ? " · 复核意见：" + v.review_note : "")));
        // The registration photo first, the evidence frames beside it: the reviewer compares faces.
        var row = el("div", { "class": "compare" });
        row.appendChild(figure(who.photo, "报名照片"));
        (v.evidence_event_ids || []).forEach(function (eid) {
          var e = byId[eid]; if (e && (e.frame || e.thumb)) row.appendChild(figure(e.frame || e.thumb, "证据画面 " + time(e.at)));
        });
        box.appendChild(row);
        if (v.status === "open") box.appendChild(decisionForm(v, who, attempt, id));
        vs.appendChild(box);
      });
      var tl = $(rev, "[data-timeline]"); tl.innerHTML = "";
      r.data.entries.forEach(function (e) {
        var li = el("li", { "class": "sev" + e.severity });
        li.appendChild(el("time", {}, time(e.at))); li.appendChild(document.createTextNode(" " + e.words));
        tl.appendChild(li);
      });
      $(rev, "[data-attempt]").scrollIntoView({ block: "start" });
    }
    function decisionForm(v, who, attempt, id) {
      var f = el("form", { "class": "decision", novalidate: "" });
      var noteLabel = el("label", { "class": "field" }); noteLabel.appendChild(el("span", {}, "复核意见（必填）"));
      var note = el("textarea", { name: "note", rows: "2", maxlength: "1000" }); noteLabel.appendChild(note); f.appendChild(noteLabel);
      f.appendChild(el("span", { "class": "err", "data-for": "note" }));
      var voidLabel = el("label", { "class": "check" }), cb = el("input", { type: "checkbox", name: "void" });
      voidLabel.appendChild(cb); voidLabel.appendChild(el("span", {}, "同时作废本次考试（仅确认违规时，且考试已评分）"));
      f.appendChild(voidLabel);
      var bar = el("div", { "class": "actions form-end" });
      var ok = el("button", { type: "button", "class": "btn primary danger-fill", "data-confirm": "" }, "确认违规");
      var no = el("button", { type: "button", "class": "btn", "data-dismiss": "" }, "排除违规");
      var err = el("p", { "class": "alert", "data-form-error": "", role: "alert" }); err.hidden = true;
      bar.appendChild(ok); bar.appendChild(no); bar.appendChild(err); f.appendChild(bar);
      var person = who.name + "（" + who.institution + "）";
      var exam = who.paper + " 第 " + who.attempt_no + " 次考试";
      async function decide(decision) {
        window.dk.clearErrors(f);
        var voiding = decision === "confirmed" && cb.checked;
        if (!note.value.trim()) return window.dk.showErrors(f, { message: "请填写复核意见", fields: { note: "请填写复核意见" } }), (err.textContent = "请填写复核意见", err.hidden = false);
        if (cb.checked && decision !== "confirmed") { err.textContent = "只有确认违规时才能作废考试；排除违规请取消勾选作废"; err.hidden = false; return; }
        var lines = decision === "confirmed"
          ? [["考生", person], ["考试", exam], ["违规", v.words + "（" + time(v.detected_at) + "）"], ["复核意见", note.value.trim()]]
          : [["考生", person], ["考试", exam], ["违规", v.words], ["复核意见", note.value.trim()], "排除后，这条记录不再计为违规，考试成绩不变。"];
        if (voiding) {
          lines.push("本次考试将作废：记为已用去一次考试机会且不通过" + (attempt.passed ? "，已取得的“通过”将被撤销" : "") + "，考核结果随之重新判定。");
          lines.push(who.name + " 将收到站内消息。此操作不能撤销。");
        } else if (decision === "confirmed") lines.push("确认后，这条违规记录留档；考试成绩不变（未勾选作废）。");
        var yes = await window.dk.confirmDialog({ title: decision === "confirmed" ? (voiding ? "确认违规并作废本次考试？" : "确认违规？") : "排除这条违规？",
          lines: lines, ok: decision === "confirmed" ? (voiding ? "确认违规并作废" : "确认违规") : "排除违规", danger: decision === "confirmed" });
        if (!yes) return;
        var d = await api("POST", "/api/v1/violations/" + v.id + "/review", { decision: decision, note: note.value.trim(), void: voiding });
        if (!d.ok) { window.dk.showErrors(f, d.data.error); err.textContent = (d.data.error && d.data.error.message) || "操作失败"; err.hidden = false; return; }
        var said = decision === "confirmed" ? "已确认 " + d.data.name + " 的违规（" + v.words + "）" : "已排除 " + d.data.name + " 的违规记录（" + v.words + "）";
        if (voiding) said += "；第 " + d.data.attempt_no + " 次考试已作废，考核状态：" + d.data.result_words + "；已通知考生";
        await loadReview(); openAttempt(id, said + "。");
      }
      ok.addEventListener("click", function () { decide("confirmed"); });
      no.addEventListener("click", function () { decide("dismissed"); });
      return f;
    }
    loadReview();
  }
})();
