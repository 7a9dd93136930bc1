// Administration pages: staff accounts, physicians' accounts, cycles, code tables.
(function () {
  "use strict";
  var api = window.dk.api;
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
  function button(text, onClick, cls) { var b = el("button", text, "btn small" + (cls ? " " + cls : "")); b.type = "button"; b.addEventListener("click", onClick); return b; }
  var okBox = document.querySelector("[data-form-ok]"), listErr = document.querySelector("[data-list-error]");
  // A username is the admin's own identifier (it may hold _ or Latin letters): shown as data, not page words.
  function ident(text) { var s = el("span", text); s.setAttribute("data-identifier", ""); s.setAttribute("translate", "no"); return s; }
  // text: words, or a list of words and {id: username} parts.
  function report(r, text) {
    if (okBox) okBox.hidden = true; if (listErr) listErr.hidden = true;
    if (r.ok) {
      if (!okBox) return;
      okBox.textContent = "";
      [].concat(text).forEach(function (part) { okBox.appendChild(typeof part === "string" ? document.createTextNode(part) : ident(part.id)); });
      okBox.hidden = false;
    }
    else if (listErr) { listErr.textContent = r.data.error.message; listErr.hidden = false; }
  }
  function showPasswords(items) {
    var box = document.getElementById("otp-box"), list = document.getElementById("otp-list");
    list.innerHTML = "";
    items.forEach(function (i) {
      var line = el("div"); line.appendChild(ident(i.username)); line.appendChild(el("span", "：")); line.appendChild(el("code", i.one_time_password, "otp-value"));
      list.appendChild(line);
    });
    box.hidden = false;
  }

  // ---- staff accounts ----
  var staffTable = document.getElementById("staff-accounts");
  if (staffTable) {
    var filter = document.getElementById("account-filter"), form = document.getElementById("account-form");
    var options = {};
    async function loadOptions() {
      var r = await api("GET", "/api/v1/staff-accounts/options");
      if (r.ok) r.data.roles.forEach(function (o) { options[o.role] = o.organisations; });
      fillOrganisations();
    }
    function fillOrganisations(selected) {
      var sel = document.getElementById("account-organisation"), orgs = options[form.elements.role.value] || [];
      sel.innerHTML = "";
      document.getElementById("organisation-field").hidden = form.elements.role.value === "admin";
      if (form.elements.role.value !== "admin") sel.appendChild(new Option("请选择", ""));
      orgs.forEach(function (o) { sel.appendChild(new Option(o.name + "（" + o.code + "）", o.code, false, o.code === selected)); });
    }
    form.elements.role.addEventListener("change", function () { fillOrganisations(); });
    function resetForm() {
      form.reset(); form.elements.id.value = ""; form.elements.role.disabled = false; form.elements.username.disabled = false;
      document.getElementById("account-form-title").textContent = "新建账户";
      document.getElementById("account-form-cancel").hidden = true; fillOrganisations(); window.dk.clearErrors(form);
    }
    document.getElementById("account-form-cancel").addEventListener("click", resetForm);
    function edit(a) {
      form.elements.id.value = a.id; form.elements.role.value = a.role; form.elements.role.disabled = true;
      form.elements.username.value = a.username; form.elements.username.disabled = true;
      form.elements.display_name.value = a.display_name; fillOrganisations(a.organisation_code || "");
      var title = document.getElementById("account-form-title"); title.textContent = "修改账户 "; title.appendChild(ident(a.username));
      document.getElementById("account-form-cancel").hidden = false; form.scrollIntoView();
    }
    async function load() {
      var q = new URLSearchParams({ q: filter.elements.q.value, role: filter.elements.role.value, size: "500" });
      var r = await api("GET", "/api/v1/staff-accounts?" + q.toString());
      var body = staffTable.querySelector("tbody"); body.innerHTML = "";
      if (!r.ok) { report(r); return; }
      r.data.items.forEach(function (a) {
        var tr = el("tr"); tr.dataset.username = a.username;
        var who = el("td"); who.appendChild(ident(a.username)); tr.appendChild(who); tr.appendChild(el("td", a.display_name)); tr.appendChild(el("td", a.role_name));
        tr.appendChild(el("td", a.organisation_name || "—"));
        var words = a.is_active ? (a.must_change_password ? "待首次登录改密" : "启用") : "已停用";
        tr.appendChild(el("td", words + (a.locked ? "（已锁定）" : ""), "st"));
        var act = el("td");
        act.appendChild(button("修改", function () { edit(a); }));
        act.appendChild(button("重置密码", async function () {
          if (!await window.dk.confirmDialog({ title: "重置 " + a.display_name + " 的密码？", ok: "重置密码",
            lines: [["账户", a.username + "（" + a.role_name + (a.organisation_name ? "，" + a.organisation_name : "") + "）"],
                    "原密码立即失效，系统生成一次性密码（只显示一次），请当面或电话告知本人；其下次登录须修改密码。"] })) return;
          var rr = await api("POST", "/api/v1/staff-accounts/" + a.id + "/reset-password");
          report(rr, ["已重置 " + a.display_name + "（", { id: a.username }, "）的密码，一次性密码见下方"]); if (rr.ok) { showPasswords([rr.data]); load(); }
        }));
        if (a.locked) act.appendChild(button("解锁", async function () {
          var rr = await api("POST", "/api/v1/staff-accounts/" + a.id + "/unlock"); report(rr, ["已解除 ", { id: a.username }, " 的锁定"]); if (rr.ok) load();
        }));
        act.appendChild(a.is_active
          ? button("停用", async function () {
              if (!await window.dk.confirmDialog({ title: "停用 " + a.display_name + " 的账户？", ok: "停用账户", danger: true,
                lines: [["账户", a.username + "（" + a.role_name + (a.organisation_name ? "，" + a.organisation_name : "") + "）"],
                        "其登录立即失效，停用期间不能登录；之后可在此重新启用。"] })) return;
              var rr = await api("POST", "/api/v1/staff-accounts/" + a.id + "/disable");
              report(rr, ["已停用 " + a.display_name + "（", { id: a.username }, "）的账户，其登录已失效"]); if (rr.ok) load();
            }, "danger")
          : button("启用", async function () {
              var rr = await api("POST", "/api/v1/staff-accounts/" + a.id + "/enable"); report(rr, ["已启用 ", { id: a.username }]); if (rr.ok) load();
            }));
        tr.appendChild(act); body.appendChild(tr);
      });
      document.getElementById("account-total").textContent = "共 " + r.data.total + " 个账户";
    }
    filter.addEventListener("submit", function (ev) { ev.preventDefault(); load(); });
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault(); window.dk.clearErrors(form);
      var v = window.dk.formValues(form), id = form.elements.id.value, r;
      if (id) r = await api("POST", "/api/v1/staff-accounts/" + id, { display_name: form.elements.display_name.value, organisation: form.elements.organisation.value });
      else r = await api("POST", "/api/v1/staff-accounts", { username: v.username, display_name: v.display_name, role: v.role, organisation: v.organisation || "" });
      if (!r.ok) { window.dk.showErrors(form, r.data.error); return; }
      report(r, id ? "已保存" : ["已创建账户 ", { id: r.data.username }]);
      if (!id) showPasswords([r.data]);
      resetForm(); load();
    });
    var importForm = document.getElementById("account-import");
    if (importForm) importForm.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      var errBox = importForm.querySelector("[data-import-error]"), problems = document.getElementById("import-problems");
      errBox.hidden = true; problems.innerHTML = "";
      var file = importForm.elements.file.files[0];
      if (!file) { errBox.textContent = "请选择要上传的账户文件"; errBox.hidden = false; return; }
      var fd = new FormData(); fd.append("file", file);
      var r = await api("POST", "/api/v1/admin/staff-accounts/import", fd);
      if (!r.ok) {
        errBox.textContent = r.data.error.message; errBox.hidden = false;
        (r.data.error.problems || []).forEach(function (p) { problems.appendChild(el("li", "第 " + p.row + " 行，" + p.column + "：" + p.message)); });
        return;
      }
      report(r, "已导入 " + r.data.created + " 个账户"); showPasswords(r.data.items); load();
    });
    loadOptions(); load();
  }

  // ---- the institution officer's physicians' accounts ----
  var physTable = document.getElementById("physician-accounts");
  if (physTable) {
    var pFilter = document.getElementById("physician-account-filter");
    async function loadPhysicians() {
      var r = await api("GET", "/api/v1/physician-accounts?" + new URLSearchParams({ q: pFilter.elements.q.value, size: "500" }).toString());
      var body = physTable.querySelector("tbody"); body.innerHTML = "";
      if (!r.ok) { report(r); return; }
      r.data.items.forEach(function (p) {
        var tr = el("tr"); tr.dataset.physicianId = p.physician_id;
        tr.appendChild(el("td", p.name)); tr.appendChild(el("td", p.id_number_masked));
        tr.appendChild(el("td", p.must_change_password ? "否" : "是")); tr.appendChild(el("td", p.phone_bound ? "是" : "否"));
        tr.appendChild(el("td", p.locked ? "已锁定" : "—", "st"));
        var act = el("td");
        if (p.locked) act.appendChild(button("解锁", async function () {
          var rr = await api("POST", "/api/v1/physicians/" + p.physician_id + "/unlock"); report(rr, "已解除 " + p.name + " 的锁定"); if (rr.ok) loadPhysicians();
        }));
        act.appendChild(button("重置密码", async function () {
          if (!await window.dk.confirmDialog({ title: "重置 " + p.name + " 的密码？", ok: "重置密码",
            lines: [["医师", p.name + "（" + p.id_number_masked + "）"], "密码重置为初始密码，原密码立即失效；其下次登录须修改密码。"] })) return;
          var rr = await api("POST", "/api/v1/physicians/" + p.physician_id + "/reset-password");
          report(rr, "已将 " + p.name + " 的密码重置为初始密码"); if (rr.ok) loadPhysicians();
        }));
        tr.appendChild(act); body.appendChild(tr);
      });
      document.getElementById("physician-account-total").textContent = "共 " + r.data.total + " 名医师";
    }
    pFilter.addEventListener("submit", function (ev) { ev.preventDefault(); loadPhysicians(); });
    loadPhysicians();
  }

  // ---- cycles and code tables: one-click actions, confirmed; the page reloads and says what was done ----

  document.addEventListener("click", async function (ev) {
    var t = ev.target.closest && ev.target.closest("[data-make-current],[data-code-active]");
    if (!t) return;
    var r, done;
    if (t.dataset.makeCurrent) {
      if (!await window.dk.confirmDialog({ title: "将“" + t.dataset.name + "”设为当前考核周期？", ok: "设为当前周期", danger: true,
        lines: ["切换后，所有医师和工作人员看到并办理的都是这一周期的报名、审核、考试和统计；原周期的记录保留，但不再是当前周期。"] })) return;
      r = await api("POST", "/api/v1/admin/cycles/" + t.dataset.makeCurrent + "/current");
      done = "已将“" + t.dataset.name + "”设为当前考核周期";
    } else {
      var on = t.dataset.active === "true", what = t.dataset.name || "该代码";
      if (!on && !await window.dk.confirmDialog({ title: "停用代码“" + what + "”？", ok: "停用", danger: true,
        lines: ["停用后，报名和账户表单中不再提供这一选项；已填写的记录保持不变，之后可以恢复。"] })) return;
      r = await api("POST", "/api/v1/admin/code-tables/" + t.dataset.codeActive + "/active", { active: on });
      done = (on ? "已恢复代码“" : "已停用代码“") + what + "”";
    }
    if (r.ok) window.dk.reloadSaying(done); else report(r);
  });
})();
