// The body's result page: seal upload (multipart) and certificate ZIPs built in the background with progress.
(function () {
  var form = document.getElementById("seal-form");
  if (form) {
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      window.dk.clearErrors(form);
      var r = await window.dk.api("POST", "/api/v1/body/seal", new FormData(form));
      if (r.ok) { location.reload(); } else { window.dk.showErrors(form, r.data.error); }
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
