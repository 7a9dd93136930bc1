// Administration pages: staff accounts, physicians' accounts, cycles, code tables.
(function () {
  "use strict";
  var api = window.dk.api;
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
  function button(text, onClick, cls) { var b = el("button", text, "btn small" + (cls ? " " + cls : "")); b.type = "button"; b.addEventListener("click", onClick); return b; }
  var okBox = document.querySelector("[data-form-ok]"), listErr = document.querySelector("[data-list-error]");
  function report(r, text) {
    if (okBox) okBox.hidden = true; if (listErr) listErr.hidden = true;
    if (r.ok) { if (okBox) { okBox.textContent = text; okBox.hidden = false; } }
    else if (listErr) { listErr.textContent = r.data.error.message; listErr.hidden = false; }
  }
  function showPasswords(items) {
    var box = document.getElementById("otp-box"), list = document.getElementById("otp-list");
    list.innerHTML = "";
    items.forEach(function (i) {
      var line = el("div"); line.appendChild(el("span", i.username + "：")); line.appendChild(el("code", i.one_time_password, "otp-value"));
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
      document.getElementById("account-form-title").textContent = "修改账户 " + a.username;
      document.getElementById("account-form-cancel").hidden = false; form.scrollIntoView();
    }
    async function load() {
      var q = new URLSearchParams({ q: filter.elements.q.value, role: filter.elements.role.value, size: "500" });
      var r = await api("GET", "/api/v1/staff-accounts?" + q.toString());
      var body = staffTable.querySelector("tbody"); body.innerHTML = "";
      if (!r.ok) { report(r); return; }
      r.data.items.forEach(function (a) {
        var tr = el("tr"); tr.dataset.username = a.username;
        var who = el("td", a.username); who.setAttribute("translate", "no"); tr.appendChild(who); tr.appendChild(el("td", a.display_name)); tr.appendChild(el("td", a.role_name));
        tr.appendChild(el("td", a.organisation_name || "—"));
        var words = a.is_active ? (a.must_change_password ? "待首次登录改密" : "启用") : "已停用";
        tr.appendChild(el("td", words + (a.locked ? "（已锁定）" : ""), "st"));
        var act = el("td");
        act.appendChild(button("修改", function () { edit(a); }));
        act.appendChild(button("重置密码", async function () {
          if (!confirm("确定重置 " + a.username + " 的密码？将生成新的一次性密码。")) return;
          var rr = await api("POST", "/api/v1/staff-accounts/" + a.id + "/reset-password");
          report(rr, "已重置 " + a.username + " 的密码"); if (rr.ok) { showPasswords([rr.data]); load(); }
        }));
        if (a.locked) act.appendChild(button("解锁", async function () {
          var rr = await api("POST", "/api/v1/staff-accounts/" + a.id + "/unlock"); report(rr, "已解除 " + a.username + " 的锁定"); if (rr.ok) load();
        }));
        act.appendChild(a.is_active
          ? button("停用", async function () {
              if (!confirm("确定停用 " + a.username + "？其登录将立即失效。")) return;
              var rr = await api("POST", "/api/v1/staff-accounts/" + a.id + "/disable"); report(rr, "已停用 " + a.username); if (rr.ok) load();
            }, "danger")
          : button("启用", async function () {
              var rr = await api("POST", "/api/v1/staff-accounts/" + a.id + "/enable"); report(rr, "已启用 " + a.username); if (rr.ok) load();
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
      report(r, id ? "已保存" : "已创建账户 " + r.data.username);
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
          if (!confirm("确定将 " + p.name + " 的密码重置为初始密码？")) return;
          var rr = await api("POST", "/api/v1/physicians/" + p.physician_id + "/reset-password"); report(rr, "已重置 " + p.name + " 的密码"); if (rr.ok) loadPhysicians();
        }));
        tr.appendChild(act); body.appendChild(tr);
      });
      document.getElementById("physician-account-total").textContent = "共 " + r.data.total + " 名医师";
    }
    pFilter.addEventListener("submit", function (ev) { ev.preventDefault(); loadPhysicians(); });
    loadPhysicians();
  }

  // ---- cycles and code tables: one-click actions ----
  document.addEventListener("click", async function (ev) {
    var t = ev.target.closest && ev.target.closest("[data-make-current],[data-code-active]");
    if (!t) return;
    var r;
    if (t.dataset.makeCurrent) {
      if (!confirm("确定将“" + t.dataset.name + "”设为当前考核周期？")) return;
      r = await api("POST", "/api/v1/admin/cycles/" + t.dataset.makeCurrent + "/current");
    } else {
      r = await api("POST", "/api/v1/admin/code-tables/" + t.dataset.codeActive + "/active", { active: t.dataset.active === "true" });
    }
    if (r.ok) location.reload(); else report(r);
  });
})();
