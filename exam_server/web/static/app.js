// Plain JS for every page: forms post JSON to /api/v1 with the CSRF header and show Chinese errors per field.
(function () {
  "use strict";
  function csrf() {
    var m = document.cookie.match(/(?:^|; )dk_csrf=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : (document.querySelector('meta[name=csrf-token]') || {}).content || "";
  }
  async function api(method, url, body, headers) {
    var opts = { method: method, headers: { "X-CSRF-Token": csrf(), "Accept": "application/json" }, credentials: "same-origin" };
    Object.keys(headers || {}).forEach(function (k) { opts.headers[k] = headers[k]; });
    if (body instanceof FormData) { opts.body = body; }
    else if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    var res = await fetch(url, opts);
    var data = {};
    try { data = await res.json(); } catch (e) { data = { error: { message: "服务器返回了无法识别的内容（" + res.status + "）" } }; }
    if (res.status === 401 && data.error && data.error.code === "not_logged_in") { location.href = "/login"; }
    return { ok: res.ok, status: res.status, data: data };
  }
  // One id per browser profile, made once: the server lets only the claiming device answer an attempt.
  // Shared by 我的考试, the identity check page and the exam page, so starting and claiming agree.
  var memoryDevice = null;
  function deviceId() {
    var id = null;
    try { id = localStorage.getItem("dk.device"); } catch (e) { /* private mode */ }
    id = id || memoryDevice;
    if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
      var bytes = new Uint8Array(16); crypto.getRandomValues(bytes);
      id = "d" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
      try { localStorage.setItem("dk.device", id); } catch (e) { /* private mode: memory only */ }
      memoryDevice = id;
    }
    return id;
  }
  window.dk = { api: api, csrf: csrf, deviceId: deviceId };

  // The project's confirmation dialog (a styled <dialog>, never window.confirm): says what will happen
  // and to whom. opts: title, lines (text, or [label, value] pairs shown as a list), ok, cancel, danger.
  // Resolves true only when the user presses the confirm button.
  function confirmDialog(opts) {
    return new Promise(function (resolve) {
      var dlg = document.createElement("dialog");
      dlg.className = "dk-dialog"; dlg.setAttribute("aria-labelledby", "dk-dialog-title");
      var h = document.createElement("h2"); h.id = "dk-dialog-title"; h.textContent = opts.title || "请确认"; dlg.appendChild(h);
      var facts = null;
      (opts.lines || []).forEach(function (line) {
        if (Array.isArray(line)) {
          if (!facts) { facts = document.createElement("dl"); facts.className = "facts"; dlg.appendChild(facts); }
          var dt = document.createElement("dt"), dd = document.createElement("dd");
          dt.textContent = line[0]; dd.textContent = line[1]; facts.appendChild(dt); facts.appendChild(dd);
        } else { facts = null; var p = document.createElement("p"); p.textContent = line; dlg.appendChild(p); }
      });
      var bar = document.createElement("div"); bar.className = "actions";
      var no = document.createElement("button"); no.type = "button"; no.className = "btn"; no.textContent = opts.cancel || "取消";
      no.dataset.dialogCancel = "";
      var yes = document.createElement("button"); yes.type = "button"; yes.dataset.dialogOk = "";
      yes.className = "btn primary" + (opts.danger ? " danger-fill" : ""); yes.textContent = opts.ok || "确定";
      bar.appendChild(no); bar.appendChild(yes); dlg.appendChild(bar);
      document.body.appendChild(dlg);
      var answered = false;
      function done(value) { if (answered) return; answered = true; if (dlg.open) dlg.close(); dlg.remove(); resolve(value); }
      no.addEventListener("click", function () { done(false); });
      yes.addEventListener("click", function () { done(true); });
      dlg.addEventListener("cancel", function () { done(false); });  // Esc
      dlg.addEventListener("close", function () { done(false); });
      dlg.showModal();
      no.focus();  // the safe choice has the focus: Enter does not confirm by accident
    });
  }
  window.dk.confirmDialog = confirmDialog;

  // A background job (certificate ZIP, large export): start it, show its progress in ``box`` (its
  // [data-job-words], [data-job-count], [data-job-bar], [data-job-error]), download the file when done.
  async function runJob(box, startUrl, opts) {
    function show(job) {
      box.hidden = false;
      box.querySelector("[data-job-words]").textContent = (opts.label(job) || "") + "：" + (job.words || "");
      box.querySelector("[data-job-count]").textContent = job.total ? job.done + " / " + job.total + " " + opts.unit : "";
      box.querySelector("[data-job-bar]").value = job.total ? Math.round(100 * job.done / job.total) : 0;
      var err = box.querySelector("[data-job-error]");
      err.hidden = !job.message; err.textContent = job.message || "";
    }
    async function follow(url) {
      var r = await api("GET", url);
      if (!r.ok) { show({ words: "", done: 0, total: 0, message: r.data.error.message }); return; }
      show(r.data);
      if (r.data.download) { location.href = r.data.download; return; }
      if (!r.data.finished) { setTimeout(function () { follow(url); }, 1000); }
    }
    var r = await api("POST", startUrl, {});
    if (!r.ok) { show({ words: "", done: 0, total: 0, message: r.data.error.message }); return; }
    show(r.data);
    follow(opts.progress(r.data));
  }
  window.dk.runJob = runJob;

  // An action that reloads the page still reports what it did: the words wait in sessionStorage and
  // show in the page's [data-form-ok] box (or [data-done-box]) once it has loaded again.
  // ``where``: a selector for the box when the page has several.
  function reloadSaying(text, where) {
    try { sessionStorage.setItem("dk.done", text); if (where) sessionStorage.setItem("dk.doneWhere", where); }
    catch (e) { /* private mode: the reload still shows the new state */ }
    location.reload();
  }
  window.dk.reloadSaying = reloadSaying;
  try {
    var doneText = sessionStorage.getItem("dk.done"), doneWhere = sessionStorage.getItem("dk.doneWhere");
    var doneBox = (doneWhere && document.querySelector(doneWhere)) || document.querySelector("[data-done-box]") || document.querySelector("[data-form-ok]");
    sessionStorage.removeItem("dk.doneWhere");
    if (doneText && doneBox) { sessionStorage.removeItem("dk.done"); doneBox.textContent = doneText; doneBox.hidden = false; }
  } catch (e) { /* private mode */ }

  function formValues(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled) return;
      if (el.type === "checkbox") { if (el.dataset.list !== undefined) { (out[el.name] = out[el.name] || []); if (el.checked) out[el.name].push(el.value); } else out[el.name] = el.checked; }
      else if (el.type === "radio") { if (el.checked) out[el.name] = el.value; }
      else out[el.name] = el.value;
    });
    return out;
  }
  function clearErrors(form) {
    form.querySelectorAll(".err").forEach(function (e) { e.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(function (e) { e.removeAttribute("aria-invalid"); });
    var box = form.querySelector("[data-form-error]"); if (box) { box.hidden = true; box.textContent = ""; }
  }
  function showErrors(form, error) {
    var fields = (error && error.fields) || {}, shownInline = false;
    Object.keys(fields).forEach(function (name) {
      var slot = form.querySelector('.err[data-for="' + name + '"]');
      var input = form.querySelector('[name="' + name + '"]');
      if (input) input.setAttribute("aria-invalid", "true");
      if (slot) { slot.textContent = fields[name]; shownInline = true; }
    });
    var box = form.querySelector("[data-form-error]") || document.querySelector("[data-form-error]");
    if (box && (!shownInline || !Object.keys(fields).length)) { box.textContent = (error && error.message) || "操作失败"; box.hidden = false; }
  }
  window.dk.showErrors = showErrors; window.dk.clearErrors = clearErrors; window.dk.formValues = formValues;

  document.querySelectorAll("form[data-api]").forEach(function (form) {
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      clearErrors(form);
      // A costly form asks first: data-confirm (the dialog's title), data-confirm-text (what follows, and
      // to whom), data-confirm-when (only when that checkbox is ticked).
      var when = form.dataset.confirmWhen, ask = form.dataset.confirm && (!when || (form.elements[when] && form.elements[when].checked));
      if (ask && !await confirmDialog({ title: form.dataset.confirm, lines: [form.dataset.confirmText || ""].filter(Boolean),
                                        ok: form.dataset.confirmOk || "确定", danger: form.dataset.confirmDanger !== undefined })) return;
      var btn = form.querySelector("[type=submit]"); if (btn) btn.disabled = true;
      try {
        var r = await api("POST", form.dataset.api, formValues(form));
        if (r.ok) {
          if (form.dataset.done) { try { sessionStorage.setItem("dk.done", form.dataset.done); } catch (e) { /* private mode */ } }
          var next = r.data.next || form.dataset.next || location.href;
          if (form.dataset.next && r.data.next === "/" ) next = form.dataset.next;
          location.href = next;
        } else { showErrors(form, r.data.error); }
      } catch (e) { showErrors(form, { message: "网络连接失败，请检查网络后重试" }); }
      finally { if (btn) btn.disabled = false; }
    });
  });

  // A field's error goes away as soon as the user changes the field.
  document.addEventListener("input", function (ev) {
    var el = ev.target; if (!el.name || !el.form) return;
    el.removeAttribute("aria-invalid");
    var slot = el.form.querySelector('.err[data-for="' + el.name + '"]'); if (slot) slot.textContent = "";
  });

  // Withdraw an upload the record does not use (frees one of the 10 proof slots).
  document.addEventListener("click", async function (ev) {
    var btn = ev.target.closest && ev.target.closest("[data-delete-file]");
    if (!btn) return;
    if (!await confirmDialog({ title: "删除文件", lines: ["确定删除“" + ((btn.closest("li").querySelector("label") || btn.closest("li")).textContent || "").trim() + "”？删除后需重新上传。"], ok: "删除", danger: true })) return;
    var r = await api("POST", "/api/v1/registration/files/" + btn.dataset.deleteFile + "/delete");
    if (r.ok) { btn.closest("li").remove(); return; }
    var box = document.querySelector("[data-form-error]"); if (box) { box.textContent = r.data.error.message; box.hidden = false; }
  });

  // 退出: during an exam the page sets dk.logoutWarning, which says what logging out does to the running clock.
  document.querySelectorAll("[data-logout]").forEach(function (b) {
    b.addEventListener("click", async function () {
      var warning = window.dk.logoutWarning ? window.dk.logoutWarning() : null;
      if (warning && !await confirmDialog({ title: "考试正在进行，确定退出登录？", lines: warning, ok: "仍要退出", cancel: "继续作答", danger: true })) return;
      await api("POST", "/api/v1/auth/logout"); location.href = "/login";
    });
  });

  // 开始考试 for a one-attempt (or last-attempt) timed paper: the 考试须知 first, from the server's own
  // account of the paper (GET /api/v1/exams). Resolves true when the physician confirms.
  function beijing(iso) { return new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }); }
  async function confirmExamStart(kind) {
    var r = await api("GET", "/api/v1/exams");
    if (!r.ok) throw new Error((r.data.error && r.data.error.message) || "无法读取考试信息");
    var p = (r.data.papers || []).filter(function (x) { return x.kind === kind; })[0];
    if (!p) throw new Error("没有找到这份试卷");
    var left = p.attempts_left, lines = [
      ["试卷", p.title],
      ["考试时长", p.time_limit_minutes + " 分钟，点击“开始考试”即开始计时"],
      ["考试次数", left <= 1 ? "本次是您" + (p.attempts_allowed === 1 ? "唯一的" : "最后") + "一次机会（共 " + p.attempts_allowed + " 次），开始即计入次数"
                             : "开始即用去 1 次，之后还剩 " + (left - 1) + " 次（共 " + p.attempts_allowed + " 次）"],
      ["截止时间", "开考后 " + p.time_limit_minutes + " 分钟，且不晚于开放截止时间 " + beijing(p.window_end)],
      "时间到后系统自动交卷，已保存的答案照常计分。计时开始后，关闭页面、断网或退出登录都不会暂停计时；答案随时自动保存，可在时限内重新进入继续作答。",
    ];
    if (p.pass_mark) lines.splice(2, 0, ["及格分", p.pass_mark + " 分"]);
    return confirmDialog({ title: "考试须知", lines: lines, ok: "我已阅读，开始考试", cancel: "暂不开始" });
  }
  window.dk.confirmExamStart = confirmExamStart;

  // Login tabs: physician (ID number) or staff (username).
  document.querySelectorAll(".tab[data-tab]").forEach(function (tab) {
    tab.addEventListener("click", function () {
      document.querySelectorAll(".tab").forEach(function (t) { t.classList.toggle("active", t === tab); });
      var form = document.getElementById("login-form"), kind = tab.dataset.tab;
      form.elements.kind.value = kind;
      form.querySelector("[data-label-physician]").hidden = kind !== "physician";
      form.querySelector("[data-label-staff]").hidden = kind !== "staff";
      form.elements.login.placeholder = kind === "physician" ? "与医师电子化注册系统一致的证件号码" : "工作人员用户名";
      form.elements.password.placeholder = kind === "physician" ? "初始密码 666666" : "";
    });
  });

  // Phone binding: send the code, then count down to the next allowed resend.
  var sendBtn = document.querySelector("[data-send-code]");
  if (sendBtn) sendBtn.addEventListener("click", async function () {
    var form = sendBtn.closest("form"); clearErrors(form);
    var r = await api("POST", "/api/v1/auth/phone/code", { phone: form.elements.phone.value });
    if (!r.ok) { showErrors(form, r.data.error); return; }
    var ok = form.querySelector("[data-form-ok]"); ok.textContent = "验证码已发送，5 分钟内有效"; ok.hidden = false;
    var left = r.data.resend_after || 60; sendBtn.disabled = true;
    var timer = setInterval(function () { left -= 1; sendBtn.textContent = left + " 秒后重发"; if (left <= 0) { clearInterval(timer); sendBtn.disabled = false; sendBtn.textContent = "获取验证码"; } }, 1000);
  });

  // Institution: list physicians and open registration.
  var table = document.getElementById("physicians");
  if (table) {
    var filter = document.getElementById("physician-filter");
    var msgOk = document.querySelector("[data-form-ok]"), msgErr = document.querySelector("[data-form-error]");
    async function load() {
      var q = new URLSearchParams({ q: filter.elements.q.value, state: filter.elements.state.value, size: "200" });
      var r = await api("GET", "/api/v1/physicians?" + q.toString());
      var body = table.querySelector("tbody"); body.innerHTML = "";
      if (!r.ok) { msgErr.textContent = r.data.error.message; msgErr.hidden = false; return; }
      r.data.items.forEach(function (p) {
        var tr = document.createElement("tr");
        tr.dataset.physicianId = p.physician_id;
        function td(text) { var c = document.createElement("td"); c.textContent = text; tr.appendChild(c); return c; }
        var box = document.createElement("input"); box.type = "checkbox"; box.value = p.physician_id; box.setAttribute("aria-label", "选择 " + p.name);
        box.disabled = p.state !== "NOT_OPENED";
        var c0 = document.createElement("td"); c0.appendChild(box); tr.appendChild(c0);
        td(p.name); td(p.id_number_masked); td(p.practice_category);
        var st = td(p.state_words); st.className = "st";
        var act = document.createElement("td"); var reset = document.createElement("button");
        reset.type = "button"; reset.className = "btn"; reset.textContent = "重置密码";
        reset.addEventListener("click", async function () {
          if (!await confirmDialog({ title: "重置密码", lines: ["确定将 " + p.name + " 的密码重置为初始密码？其下次登录须修改密码。"], ok: "重置密码" })) return;
          var rr = await api("POST", "/api/v1/physicians/" + p.physician_id + "/reset-password");
          show(rr, "已重置 " + p.name + " 的密码");
        });
        act.appendChild(reset); tr.appendChild(act);
        body.appendChild(tr);
      });
      document.getElementById("physician-total").textContent = "共 " + r.data.total + " 名医师";
    }
    function show(r, text) {
      msgOk.hidden = msgErr.hidden = true;
      if (r.ok) { msgOk.textContent = text; msgOk.hidden = false; } else { msgErr.textContent = r.data.error.message; msgErr.hidden = false; }
    }
    filter.addEventListener("submit", function (ev) { ev.preventDefault(); load(); });
    document.querySelector("[data-check-all]").addEventListener("change", function (ev) {
      table.querySelectorAll("tbody input[type=checkbox]:not(:disabled)").forEach(function (b) { b.checked = ev.target.checked; });
    });
    document.querySelectorAll("[data-open]").forEach(function (btn) {
      btn.addEventListener("click", async function () {
        var all = btn.dataset.open === "all";
        var ids = Array.prototype.map.call(table.querySelectorAll("tbody input:checked"), function (b) { return Number(b.value); });
        if (all && !await confirmDialog({ title: "开通报名", lines: ["确定为本机构全部尚未开通的医师开通本周期报名？"], ok: "全部开通" })) return;
        var r = await api("POST", "/api/v1/registrations/open", all ? { all: true } : { physician_ids: ids });
        show(r, r.ok ? "已为 " + r.data.opened + " 名医师开通报名" : "");
        if (r.ok) load();
      });
    });
    load();
  }
})();
