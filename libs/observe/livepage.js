// Brisk's addition to the statsviz page: says which of Brisk's plots this process does not
// feed. The page cannot draw a gap, so such a plot shows 0; this banner and the note on the
// plot say why. State is read from brisk.json (served beside the page) every few seconds and
// kept on each plot's element as data-brisk-missing (empty when every series is exported).
(function () {
  "use strict";

  // statsviz (v0.8) sends user plots without tags or metric names, and its category buttons
  // and search box then throw on them. This script runs before statsviz's module (modules run
  // after the page is parsed), so it can fill them in on the one config message per socket:
  // our plots join the "misc" category and are found by searching "brisk" or their title.
  //
  // It also keeps, for each of our plots, how many points the page received and the largest
  // value (window.briskLive.received), which the browser test reads.
  var live = (window.briskLive = { status: null, received: {} });
  var ours = {};
  var NativeWebSocket = window.WebSocket;
  function fixConfig(ev) {
    if (typeof ev.data !== "string") return ev;
    if (ev.data.indexOf('{"event":"config"') !== 0) {
      record(ev.data);
      return ev;
    }
    var msg = JSON.parse(ev.data);
    ours = {};
    (msg.data.series || []).forEach(function (pd) {
      if (!pd.tags && pd.name.indexOf("brisk_") === 0) ours[pd.name] = true;
    });
    (msg.data.series || []).forEach(function (pd) {
      if (!pd.tags) pd.tags = ["misc"];
      if (!pd.metrics) pd.metrics = [pd.name, pd.title];
    });
    return new MessageEvent("message", { data: JSON.stringify(msg) });
  }
  function PatchedWebSocket(url, protocols) {
    var ws = protocols === undefined ? new NativeWebSocket(url) : new NativeWebSocket(url, protocols);
    var handler = null;
    Object.defineProperty(ws, "onmessage", {
      get: function () { return handler; },
      set: function (fn) {
        handler = fn;
        NativeWebSocket.prototype.__lookupSetter__("onmessage").call(ws, fn && function (ev) { return fn.call(ws, fixConfig(ev)); });
      }
    });
    return ws;
  }
  function record(data) {
    var series;
    try {
      series = JSON.parse(data).data.series;
    } catch (e) {
      return;
    }
    Object.keys(ours).forEach(function (name) {
      var vals = series[name];
      if (!vals) return;
      var r = live.received[name] || (live.received[name] = { points: 0, max: 0 });
      r.points++;
      vals.forEach(function (v) { if (v > r.max) r.max = v; });
    });
  }
  PatchedWebSocket.prototype = NativeWebSocket.prototype;
  ["CONNECTING", "OPEN", "CLOSING", "CLOSED"].forEach(function (k) { PatchedWebSocket[k] = NativeWebSocket[k]; });
  window.WebSocket = PatchedWebSocket;

  var style = document.createElement("style");
  style.textContent =
    "#brisk-live-status{font:13px system-ui,sans-serif;padding:6px 12px;margin:4px 8px;border-radius:4px;background:#fff3cd;color:#664d03}" +
    "#brisk-live-status.ok{background:#d1e7dd;color:#0f5132}" +
    ".plot-card{position:relative}" +
    ".plot-card[data-brisk-missing]:not([data-brisk-missing=''])::after{content:'not exported by this process: ' attr(data-brisk-missing);" +
    "position:absolute;left:50%;top:45%;transform:translate(-50%,-50%);font:12px system-ui,sans-serif;padding:4px 8px;" +
    "background:#fff3cd;color:#664d03;border-radius:4px;pointer-events:none}";
  document.head.appendChild(style);

  var banner = document.createElement("div");
  banner.id = "brisk-live-status";
  banner.textContent = "Brisk plots: waiting for the first reading";
  var plots = document.getElementById("plots");
  if (plots && plots.parentNode) {
    plots.parentNode.insertBefore(banner, plots);
  } else {
    document.body.insertBefore(banner, document.body.firstChild);
  }

  function render(st) {
    var missing = [];
    live.status = st;
    (st.plots || []).forEach(function (p) {
      var m = p.missing || [];
      var el = document.getElementById(p.name);
      if (el) el.setAttribute("data-brisk-missing", m.join(" "));
      if (m.length) missing.push(p.title + " (" + m.join(", ") + ")");
    });
    if (st.error) {
      banner.className = "";
      banner.textContent = "Brisk plots: reading the metrics failed: " + st.error;
    } else if (missing.length) {
      banner.className = "";
      banner.textContent = "Not exported by this process, plotted as 0: " + missing.join("; ");
    } else {
      banner.className = "ok";
      banner.textContent = "Every Brisk plot is fed from this process's /metrics.";
    }
  }

  function poll() {
    fetch("brisk.json", { cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(render)
      .catch(function () {})
      .finally(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
