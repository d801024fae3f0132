// "Notifications on this device" on the Me page: the state (on / off / blocked / not supported),
// turning Web Push on (only after a tap and a sentence saying why: the browser's question comes
// once, and a "Block" is hard to undo) and off, a test notification, and this user's devices.
(function () {
  "use strict";
  var sg = window.salesgate;
  var section = document.getElementById("push-section");
  if (!sg || !section) return;
  var S = JSON.parse(document.getElementById("push-i18n").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var SUBSCRIBE_TIMEOUT_MS = 15000;
  var SESSION_CACHE = "salesgate-session", PUSH_KEY = "/__salesgate/push";
  var supported = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  // iOS Safari has Web Push only for an app opened from the Home Screen (16.4+); in the browser tab
  // there is no PushManager at all, and navigator.standalone (iOS only) is false.
  var iosInBrowser = navigator.standalone === false && !("PushManager" in window);
  var dateFmt = new Intl.DateTimeFormat(document.documentElement.lang || undefined,
                                        { year: "numeric", month: "numeric", day: "numeric" });

  function say(id, text) { var el = $(id); el.textContent = text || ""; el.hidden = !text; }
  function state(name) { say("push-state", S["state_" + name]); $("push-state").dataset.state = name; }
  function feedback(error, result) { say("push-error", error); say("push-result", result); }

  function b64urlToBytes(text) {
    var b64 = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(b64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  // A short label for the device list: "Android · Chrome", "iPhone · Safari", "Windows · Edge".
  function deviceLabel() {
    var ua = navigator.userAgent;
    var os = /iPhone/.test(ua) ? "iPhone" : /iPad/.test(ua) ? "iPad" : /Android/.test(ua) ? "Android"
      : /HarmonyOS/.test(ua) ? "HarmonyOS" : /Windows/.test(ua) ? "Windows" : /Mac OS X/.test(ua) ? "Mac"
      : /Linux/.test(ua) ? "Linux" : "";
    var browser = /MicroMessenger/.test(ua) ? "WeChat" : /EdgA?\//.test(ua) ? "Edge" : /Firefox\//.test(ua) ? "Firefox"
      : /SamsungBrowser/.test(ua) ? "Samsung" : /Chrome\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "";
    return [os, browser].filter(Boolean).join(" · ") || "Browser";
  }

  function registration() { return navigator.serviceWorker.ready; }

  async function currentSubscription() {
    if (!supported) return null;
    try { return await (await registration()).pushManager.getSubscription(); } catch (e) { return null; }
  }

  async function render() {
    $("push-ios").hidden = !iosInBrowser;
    var on = $("push-on"), off = $("push-off");
    if (!supported) {
      state(iosInBrowser ? "ios" : "unsupported"); on.hidden = true; off.hidden = true; return;
    }
    if (Notification.permission === "denied") {
      state("blocked"); on.hidden = true; off.hidden = true; return;
    }
    var sub = Notification.permission === "granted" ? await currentSubscription() : null;
    state(sub ? "on" : "off");
    on.hidden = !!sub || !$("push-explain").hidden; off.hidden = !sub;
  }

  function renderDevices(items) {
    var ul = $("push-devices");
    ul.textContent = "";
    $("push-devices-empty").hidden = items.length > 0;
    items.forEach(function (d) {
      var li = document.createElement("li");
      var name = document.createElement("strong");
      name.textContent = d.device || S.device_unknown;
      var meta = document.createElement("span");
      meta.className = "muted";
      var bits = [S.device_added.replace("{date}", dateFmt.format(new Date(d.created_at)))];
      if (d.last_sent_at) bits.push(S.device_last.replace("{date}", dateFmt.format(new Date(d.last_sent_at))));
      meta.textContent = bits.join(" · ");
      li.appendChild(name); li.appendChild(meta);
      ul.appendChild(li);
    });
  }

  function loadDevices() {
    return sg.api("GET", "/api/v1/push/subscriptions").then(function (data) { renderDevices(data.items); })
      .catch(function () { /* offline: the list stays as it was */ });
  }

  function withTimeout(promise, ms) {
    return Promise.race([promise, new Promise(function (_, reject) {
      setTimeout(function () { reject(new Error("timeout")); }, ms);
    })]);
  }

  // What the service worker needs to subscribe again by itself (pushsubscriptionchange).
  function rememberForWorker(body) {
    if (!window.caches) return Promise.resolve();
    var meta = JSON.stringify({ locale: body.locale, device: body.device });
    return caches.open(SESSION_CACHE).then(function (c) { return c.put(PUSH_KEY, new Response(meta)); })
      .catch(function () {});
  }

  async function turnOn() {
    feedback("", "");
    var answer = await Notification.requestPermission();
    if (answer !== "granted") {
      if (answer !== "denied") feedback(S.dismissed, "");
      return;
    }
    var sub;
    try {
      var key = (await sg.api("GET", "/api/v1/push/vapid-public-key")).key;
      var reg = await withTimeout(registration(), SUBSCRIBE_TIMEOUT_MS);
      sub = await withTimeout(reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64urlToBytes(key) }),
                              SUBSCRIBE_TIMEOUT_MS);
    } catch (e) {
      feedback(e && e.status ? e.message : S.subscribe_failed, ""); return;
    }
    var body = Object.assign(sub.toJSON(), { locale: section.dataset.locale, device: deviceLabel() });
    try {
      await sg.api("POST", "/api/v1/push/subscriptions", body);
    } catch (e) {
      sub.unsubscribe().catch(function () {});  // the server will not send to it: do not keep it
      feedback(e.code === "push_host_not_allowed" ? S.host_not_allowed : e.message, ""); return;
    }
    await rememberForWorker(body);
    feedback("", S.turned_on);
  }

  async function turnOff() {
    feedback("", "");
    var sub = await currentSubscription();
    if (sub) {
      // Unsubscribed here first: no more notifications, even if the server cannot be told now
      // (it drops the endpoint on its next push, when the push service answers 410).
      await sub.unsubscribe().catch(function () {});
      try { await sg.api("DELETE", "/api/v1/push/subscriptions?endpoint=" + encodeURIComponent(sub.endpoint)); }
      catch (e) { /* offline: see above */ }
    }
    feedback("", S.turned_off);
  }

  function busy(on) {
    section.querySelectorAll("button").forEach(function (b) { b.disabled = on; });
    section.setAttribute("aria-busy", on ? "true" : "false");
  }

  async function run(task) {
    busy(true);
    try { await task(); } catch (e) { feedback(e.message || S.subscribe_failed, ""); }
    finally { busy(false); await render(); loadDevices(); }
  }

  // First tap: say why. Second tap ("Continue"): the browser's own question.
  $("push-on").addEventListener("click", function () {
    feedback("", "");
    $("push-explain").hidden = false; $("push-on").hidden = true;
    $("push-continue").focus();
  });
  $("push-cancel").addEventListener("click", function () {
    $("push-explain").hidden = true; render(); $("push-on").focus();
  });
  $("push-continue").addEventListener("click", function () {
    $("push-explain").hidden = true;
    run(turnOn);
  });
  $("push-off").addEventListener("click", function () { run(turnOff); });
  $("push-test").addEventListener("click", function () {
    run(async function () {
      feedback("", "");
      var data = await sg.api("POST", "/api/v1/push/test");
      feedback("", data.devices ? S.test_sent.replace("{n}", data.devices) : S.test_no_devices);
      if (window.SalesgateAlerts) window.SalesgateAlerts.refresh();
    });
  });

  render();
  loadDevices();
})();
