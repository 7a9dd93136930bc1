// The body's result page: seal upload (multipart) and certificate ZIPs built in the background with progress.
(function () {
  var form = document.getElementById("seal-form");
  if (form) {
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      window.dk.clearErrors(form);
      var replacing = !!document.querySelector(".seal-preview");
      if (replacing && !await window.dk.confirmDialog({ title: "替换考核机构印章？", ok: "替换印章",
            lines: ["此后生成的合格证书 PDF（医师下载、批量下载）都加盖新印章。"] })) return;
      var r = await window.dk.api("POST", "/api/v1/body/seal", new FormData(form));
      if (r.ok) { window.dk.reloadSaying(replacing ? "已替换考核机构印章，此后生成的合格证书加盖新印章" : "已上传考核机构印章，合格证书加盖此印章后有效", "[data-seal-done]"); }
      else { window.dk.showErrors(form, r.data.error); }
    });
  }
  // Publication: preview what will be published, confirm in words, then report what was done.
  function names(list) { return list.length ? list.join("、") : "无"; }
  var publish = document.getElementById("publish-form");
  if (publish) {
    publish.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      window.dk.clearErrors(publish);
      var report = document.querySelector("[data-publish-report]"); report.hidden = true;
      var inst = publish.elements.institution_id.value;
      var p = await window.dk.api("GET", "/api/v1/results/publish-preview?institution_id=" + encodeURIComponent(inst));
      if (!p.ok) { window.dk.showErrors(publish, p.data.error); return; }
      var d = p.data;
      if (d.refusal) { window.dk.showErrors(publish, { message: d.refusal }); return; }
      if (!d.count) { window.dk.showErrors(publish, { message: "“" + d.scope + "”暂无已出结果、尚未公布的记录，无需公布。" }); return; }
      var lines = ["将公布“" + d.scope + "”本周期 " + d.count + " 名医师的考核结果：合格者签发合格证书，并以站内消息和短信通知本人。公布后不能撤回。",
                   ["合格 " + d.passed.length + " 人", names(d.passed)], ["不合格 " + d.failed.length + " 人", names(d.failed)]];
      if (!d.sealed) lines.push("尚未上传考核机构印章（本次无合格者，不签发证书）。");
      if (!await window.dk.confirmDialog({ title: "确认公布 " + d.count + " 名医师的考核结果", lines: lines, ok: "公布 " + d.count + " 人的结果" })) return;
      var btn = publish.querySelector("[type=submit]"); btn.disabled = true;
      var r = await window.dk.api("POST", "/api/v1/results/publish", { institution_id: inst });
      btn.disabled = false;
      if (!r.ok) { window.dk.showErrors(publish, r.data.error); return; }
      report.textContent = "已公布 " + r.data.published + " 名医师的考核结果（" + r.data.scope + "）：合格 " + r.data.passed.length + " 人（" +
        names(r.data.passed) + "），已签发合格证书 " + r.data.certificates + " 份；不合格 " + r.data.failed.length + " 人（" + names(r.data.failed) +
        "）。已发送站内消息，短信 " + r.data.sms + " 条（未绑定手机号的医师只收到站内消息）。";
      report.hidden = false;
      // The certificate list further down shows the ones just issued without a reload.
      document.dispatchEvent(new CustomEvent("dk:certificates-issued"));
    });
  }
  var scheduleError = document.querySelector("[data-schedule-error]"), scheduleReport = document.querySelector("[data-schedule-report]");
  document.querySelectorAll("[data-publish-schedule]").forEach(function (btn) {
    btn.addEventListener("click", async function () {
      scheduleError.hidden = scheduleReport.hidden = true;
      var id = btn.dataset.publishSchedule;
      var p = await window.dk.api("GET", "/api/v1/exam-schedules/" + id + "/publish-preview");
      if (!p.ok) { scheduleError.textContent = p.data.error.message; scheduleError.hidden = false; return; }
      var d = p.data;
      if (!await window.dk.confirmDialog({ title: "确认公布“" + d.title + "”的成绩",
          lines: ["公布后，本辖区已作答的 " + d.count + " 名医师即可看到该试卷的成绩，并收到站内消息和短信。公布后不能撤回。", ["医师", names(d.names)]],
          ok: "公布成绩" })) return;
      btn.disabled = true;
      var r = await window.dk.api("POST", "/api/v1/exam-schedules/" + id + "/publish", {});
      if (!r.ok) { btn.disabled = false; scheduleError.textContent = r.data.error.message; scheduleError.hidden = false; return; }
      btn.closest("td").textContent = "已公布（刚刚）";
      scheduleReport.textContent = "已公布“" + d.title + "”的成绩：" + r.data.physicians + " 名医师（" + names(d.names) + "），短信 " + r.data.sms + " 条。";
      scheduleReport.hidden = false;
    });
  });
  // Certificates: find one, revoke it with a required category and note, after a dialog saying to whom and
  // what follows; then report what was done.
  var certBox = document.getElementById("certificates");
  if (certBox) {
    var TZ = { timeZone: "Asia/Shanghai", hour12: false, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" };
    var search = document.getElementById("certificate-search"), list = document.querySelector("#certificate-list tbody");
    var certErr = certBox.querySelector("[data-certificate-error]"), revokeReport = certBox.querySelector("[data-revoke-report]");
    var tpl = document.getElementById("revoke-form-template");
    function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined && text !== null) e.textContent = text; if (cls) e.className = cls; return e; }
    function when(iso) { return iso ? new Date(iso).toLocaleString("zh-CN", TZ) : ""; }
    function number(text) { var c = el("td", text); c.setAttribute("translate", "no"); return c; }
    async function loadCertificates() {
      certErr.hidden = true;
      var r = await window.dk.api("GET", "/api/v1/certificates?" + new URLSearchParams({ q: search.elements.q.value.trim() }).toString());
      list.innerHTML = "";
      if (!r.ok) { certErr.textContent = r.data.error.message; certErr.hidden = false; return; }
      if (!r.data.items.length) { var tr0 = el("tr"), c0 = el("td", "没有找到合格证书"); c0.colSpan = 6; tr0.appendChild(c0); list.appendChild(tr0); }
      r.data.items.forEach(function (c) {
        var tr = el("tr"); tr.dataset.certificate = c.number;
        tr.appendChild(el("td", c.name)); tr.appendChild(el("td", c.institution)); tr.appendChild(number(c.number));
        tr.appendChild(el("td", when(c.issued_at)));
        tr.appendChild(el("td", c.revoked_at ? "已撤销（" + (c.revoked_words || "未注明类别") + "，" + when(c.revoked_at) + "）" : "有效", "st"));
        var act = el("td");
        if (!c.revoked_at) {
          var b = el("button", "撤销", "btn small danger"); b.type = "button"; b.dataset.revoke = c.number;
          b.addEventListener("click", function () { openRevoke(tr, c); });
          act.appendChild(b);
        }
        tr.appendChild(act); list.appendChild(tr);
      });
    }
    // The form goes below the table, full width (inside a phone's scrolling table it was cut off).
    var slot = certBox.querySelector("[data-revoke-slot]");
    function openRevoke(tr, c) {
      slot.innerHTML = "";
      var title = el("h3", "撤销 " + c.name + "（" + c.institution + "）的合格证书 ");
      var num = el("span", c.number); num.setAttribute("translate", "no"); title.appendChild(num);
      var form = tpl.content.firstElementChild.cloneNode(true);
      slot.appendChild(title); slot.appendChild(form); slot.hidden = false;
      form.querySelector("[data-revoke-cancel]").addEventListener("click", function () { slot.innerHTML = ""; slot.hidden = true; });
      slot.scrollIntoView({ block: "nearest" });
      form.elements.category.focus();
      form.addEventListener("submit", async function (ev) {
        ev.preventDefault(); window.dk.clearErrors(form);
        var category = form.elements.category.value, reason = form.elements.reason.value.trim(), fields = {};
        if (!category) fields.category = "请选择撤销原因类别";
        if (!reason) fields.reason = "请填写撤销说明";
        if (Object.keys(fields).length) { window.dk.showErrors(form, { message: Object.values(fields).join("；"), fields: fields }); return; }
        var words = form.elements.category.selectedOptions[0].textContent;
        if (!await window.dk.confirmDialog({ title: "撤销 " + c.name + " 的合格证书？", ok: "撤销证书", danger: true, lines: [
            ["医师", c.name + "（" + c.institution + "）"], ["证书编号", c.number], ["原因", words + "：" + reason],
            "撤销后证书立即失效：公开查验显示“证书已撤销（" + words + "）”，医师收到站内消息。撤销不能撤回。"] })) return;
        var btn = form.querySelector("[type=submit]"); btn.disabled = true;
        var r = await window.dk.api("POST", "/api/v1/certificates/" + encodeURIComponent(c.number) + "/revoke", { category: category, reason: reason });
        btn.disabled = false;
        if (!r.ok) { window.dk.showErrors(form, r.data.error); return; }
        revokeReport.textContent = "已撤销 " + c.name + "（" + c.institution + "）的合格证书 " + c.number + "，原因：" + words + "。公开查验已显示为已撤销，并已通知医师。";
        revokeReport.hidden = false;
        slot.innerHTML = ""; slot.hidden = true;
        await loadCertificates();
      });
    }
    search.addEventListener("submit", function (ev) { ev.preventDefault(); revokeReport.hidden = true; loadCertificates(); });
    document.addEventListener("dk:certificates-issued", loadCertificates);
    loadCertificates();
  }
  // Certificate ZIPs: a background job with progress, then the download.
  var box = document.querySelector("[data-zip-progress]");
  document.querySelectorAll("[data-zip]").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      window.dk.runJob(box, "/api/v1/institutions/" + a.dataset.zip + "/certificate-zips", {
        unit: "份", label: function (job) { return job.institution || a.textContent; },
        progress: function (job) { return "/api/v1/certificate-zips/" + job.job; } });
    });
  });
})();
