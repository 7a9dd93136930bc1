// In-attempt proctoring for the exam page: a webcam frame every N seconds (the schedule's setting),
// browser events (page hidden, focus, full screen, copy/paste, camera, network) and the
// invigilator's warnings shown at once. API: dkProctor.start(attemptId, token, device),
// dkProctor.stop(), dkProctor.onWarning(cb). Include with:
//   <script src="/static/proctor.js" defer></script>
// and call dkProctor.start(...) once the attempt token is known.
(function () {
  "use strict";
  var state = null, warningCallbacks = [];

  function csrf() {
    var m = document.cookie.match(/(?:^|; )dk_csrf=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : (document.querySelector('meta[name=csrf-token]') || {}).content || "";
  }
  function headers(extra) {
    var h = { "X-CSRF-Token": csrf(), "X-Attempt-Token": state.token, "Accept": "application/json" };
    Object.keys(extra || {}).forEach(function (k) { h[k] = extra[k]; });
    return h;
  }
  function base() { return "/api/v1/attempts/" + state.attemptId; }

  function report(kind, detail) {
    if (!state) return;
    var body = JSON.stringify({ kind: kind, detail: detail || "" });
    if (!navigator.onLine && kind !== "online") { state.pending.push(body); return; }
    fetch(base() + "/proctor-events", { method: "POST", credentials: "same-origin", body: body,
      headers: headers({ "Content-Type": "application/json" }) }).catch(function () { state && state.pending.push(body); });
  }

  function banner(message) {
    var box = document.getElementById("dk-proctor-warning");
    if (!box) {
      box = document.createElement("div");
      box.id = "dk-proctor-warning";
      box.setAttribute("role", "alert");
      box.className = "proctor-warning";
      document.body.appendChild(box);
    }
    box.textContent = message;
    box.hidden = false;
    clearTimeout(box._t);
    box._t = setTimeout(function () { box.hidden = true; }, 30000);
  }
  function warn(message) {
    banner(message);
    warningCallbacks.forEach(function (cb) { try { cb(message); } catch (e) { /* a page's handler */ } });
  }

  async function listen() {
    // The attempt's event stream (the engine's SSE), read with fetch so the token header can be sent.
    while (state) {
      var mine = state;
      try {
        var res = await fetch(base() + "/events", { headers: headers(), credentials: "same-origin", signal: mine.abort.signal });
        if (!res.ok || !res.body) throw new Error("events " + res.status);
        var reader = res.body.getReader(), decoder = new TextDecoder(), buffer = "";
        for (;;) {
          var chunk = await reader.read();
          if (chunk.done) break;
          buffer += decoder.decode(chunk.value, { stream: true });
          var parts = buffer.split("\n\n"); buffer = parts.pop();
          parts.forEach(function (part) {
            part.split("\n").forEach(function (line) {
              if (line.indexOf("data: ") !== 0) return;
              try {
                var ev = JSON.parse(line.slice(6));
                if (ev.event === "warning") warn(ev.message || "监考员提醒");
                if (ev.event === "submitted" && ev.reason) warn("考试已结束：" + ev.reason);
              } catch (e) { /* not ours */ }
            });
          });
        }
      } catch (e) { if (mine.abort.signal.aborted) return; }
      await new Promise(function (r) { setTimeout(r, 2000); });
    }
  }

  async function openCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { report("camera_error", "浏览器不支持摄像头"); return; }
    try {
      var stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
      state.stream = stream;
      var video = document.createElement("video");
      video.muted = true; video.playsInline = true; video.srcObject = stream;
      video.className = "proctor-self"; video.setAttribute("aria-label", "摄像头画面");
      // The page's slot for it (the exam page's sticky bar), else a corner of the window.
      (document.querySelector("[data-proctor-slot]") || document.body).appendChild(video);
      await video.play();
      state.video = video;
      stream.getVideoTracks().forEach(function (t) { t.addEventListener("ended", function () { report("camera_stopped", "摄像头已断开"); }); });
    } catch (e) {
      report("camera_error", e && e.name === "NotAllowedError" ? "未允许使用摄像头" : "找不到可用的摄像头");
    }
  }

  function capture() {
    if (!state || !state.video || !state.video.videoWidth) return;
    var canvas = state.canvas || (state.canvas = document.createElement("canvas"));
    canvas.width = 640; canvas.height = Math.round(640 * state.video.videoHeight / state.video.videoWidth);
    canvas.getContext("2d").drawImage(state.video, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(function (blob) {
      if (!blob || !state) return;
      fetch(base() + "/frames", { method: "POST", credentials: "same-origin", body: blob,
        headers: headers({ "Content-Type": "image/jpeg" }) }).catch(function () { /* offline: the next one */ });
    }, "image/jpeg", 0.8);
  }

  var handlers = {
    visibilitychange: function () { report(document.hidden ? "page_hidden" : "page_visible"); },
    blur: function () { report("focus_lost"); },
    focus: function () { report("focus_back"); },
    fullscreenchange: function () { if (!document.fullscreenElement && state && state.wasFullscreen) report("fullscreen_left"); if (state) state.wasFullscreen = !!document.fullscreenElement; },
    copy: function () { report("copy"); },
    paste: function () { report("paste"); },
    offline: function () { if (state) state.offlineAt = new Date().toISOString(); },
    online: function () {
      if (!state) return;
      var pending = state.pending.splice(0);
      report("offline", state.offlineAt ? "断网开始于 " + state.offlineAt : "");
      report("online");
      pending.forEach(function (b) { var p = JSON.parse(b); report(p.kind, p.detail); });
    },
  };

  async function start(attemptId, token, device) {
    stop();
    state = { attemptId: attemptId, token: token, device: device, pending: [], abort: new AbortController(),
              wasFullscreen: !!document.fullscreenElement };
    var seconds = 15;
    try {
      var res = await fetch(base() + "/proctoring", { headers: headers(), credentials: "same-origin" });
      if (res.ok) seconds = (await res.json()).frame_seconds || 15;
    } catch (e) { /* keep the default */ }
    ["visibilitychange", "fullscreenchange", "copy", "paste"].forEach(function (n) { document.addEventListener(n, handlers[n]); });
    ["blur", "focus", "offline", "online"].forEach(function (n) { window.addEventListener(n, handlers[n]); });
    listen();
    await openCamera();
    capture();
    state.timer = setInterval(capture, seconds * 1000);
    state.beat = setInterval(function () { report("heartbeat"); }, 20000);
  }

  function stop() {
    if (!state) return;
    clearInterval(state.timer); clearInterval(state.beat);
    state.abort.abort();
    if (state.stream) state.stream.getTracks().forEach(function (t) { t.stop(); });
    if (state.video) state.video.remove();
    ["visibilitychange", "fullscreenchange", "copy", "paste"].forEach(function (n) { document.removeEventListener(n, handlers[n]); });
    ["blur", "focus", "offline", "online"].forEach(function (n) { window.removeEventListener(n, handlers[n]); });
    state = null;
  }

  window.dkProctor = { start: start, stop: stop, onWarning: function (cb) { warningCallbacks.push(cb); },
                       captureNow: capture };
})();
