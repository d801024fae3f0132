// Salesgate PWA shell: forms post JSON to the API, the service worker is registered.
(function () {
  "use strict";
  var T = {};
  try { T = JSON.parse(document.getElementById("i18n").textContent); } catch (e) { T = {}; }

  function cookie(name) {
    var m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  }

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // The server's detail is English; say it in the page's language where the code is known.
  function errorText(data) {
    var text = data && T["err_" + data.code];
    if (!text) return (data && data.detail) || T.error || "error";
    var extra = data.extra || {};
    var allowed = (extra.allowed || []).map(function (t) { return t === "xlsx" ? "Excel" : t.toUpperCase(); });
    return text.replace("{allowed}", allowed.join(" / "))
      .replace("{max}", extra.max_bytes ? String(Math.round(extra.max_bytes / 1048576)) : "");
  }

  // POST JSON with the CSRF header and an Idempotency-Key, so a double tap never saves twice.
  async function api(method, url, body, key) {
    var headers = { "Content-Type": "application/json", "Accept": "application/json" };
    var csrf = cookie("sg_csrf");
    if (csrf) headers["X-CSRF-Token"] = csrf;
    if (method === "POST") headers["Idempotency-Key"] = key || uuid();
    var resp;
    try {
      resp = await fetch(url, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
    } catch (e) {
      throw new Error(T.offline || "offline");
    }
    var data = null;
    if (resp.status !== 204) { try { data = await resp.json(); } catch (e) { data = null; } }
    if (!resp.ok) {
      if (resp.status === 401 && !url.endsWith("/auth/login")) { location.href = "/login?next=" + encodeURIComponent(location.pathname); }
      var err = new Error(errorText(data));
      err.field = data && data.extra && data.extra.field;  // e.g. invalid_phone names its field
      err.status = resp.status; err.code = data && data.code; err.extra = (data && data.extra) || {};
      throw err;
    }
    return data;
  }

  function showError(form, message, field) {
    var box = form.querySelector(".form-error");
    if (box) { box.textContent = message; box.hidden = !message; }
    var el = field && form.elements[field];
    if (el && el.focus) { el.setAttribute("aria-invalid", "true"); el.focus(); }
  }

  // The forms are novalidate (the browser's bubbles ignore the page language): check them here.
  function checkFields(form) {
    var bad = null;
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.willValidate) return;
      if (el.type !== "submit" && el.value.trim() === "" && el.required) el.value = "";
      var ok = el.checkValidity();
      if (ok) el.removeAttribute("aria-invalid"); else el.setAttribute("aria-invalid", "true");
      if (!ok && !bad) bad = el;
    });
    if (!bad) return true;
    var label = bad.id ? form.querySelector('label[for="' + bad.id + '"]') : null;
    var field = label ? label.textContent.replace("*", "").trim() : bad.name;
    var text = bad.validity.valueMissing ? T.required : T.invalid;
    showError(form, (text || "{field}?").replace("{field}", field));
    bad.focus();
    return false;
  }

  function toast(message) {
    var el = document.querySelector(".toast");
    if (!el) return;
    el.textContent = message; el.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { el.hidden = true; }, 2200);
  }

  function formData(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === "submit" || el.disabled) return;
      var v = el.value.trim();
      if (v !== "") out[el.name] = el.type === "number" ? Number(v) : v;
    });
    return out;
  }

  function busy(form, on) {
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = on; });
  }

  // One Idempotency-Key per form and body until it succeeds: a retry of the same entry after a
  // network error or a 5xx reuses it, so it is never saved twice; an entry the user corrected
  // (after a 4xx, or offline) gets a new key, or the server refuses it as the key reused.
  var keys = new WeakMap();
  function keyFor(form, body) {
    var text = JSON.stringify(body), last = keys.get(form);
    if (!last || last.body !== text) { last = { key: uuid(), body: text }; keys.set(form, last); }
    return last.key;
  }
  function forgetKey(form) { keys.delete(form); }

  var login = document.getElementById("login-form");
  if (login) {
    login.addEventListener("submit", async function (ev) {
      ev.preventDefault(); showError(login, "");
      if (!checkFields(login)) return;
      busy(login, true);
      try {
        await api("POST", "/api/v1/auth/login", formData(login));
        location.href = login.dataset.next || "/customers";
      } catch (e) { showError(login, e.message); } finally { busy(login, false); }
    });
  }

  document.querySelectorAll("form[data-api]").forEach(function (form) {
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault(); showError(form, "");
      if (!checkFields(form)) return;
      busy(form, true);
      try {
        var body = formData(form);
        var result = await api("POST", form.dataset.api, body, keyFor(form, body));
        forgetKey(form);
        toast(T.saved || "Saved");
        if (form.dataset.redirect) location.href = form.dataset.redirect.replace("{id}", result.id);
      } catch (e) { showError(form, e.message, e.field); } finally { busy(form, false); }
    });
  });

  var activity = document.getElementById("activity-form");
  if (activity) {
    activity.addEventListener("submit", async function (ev) {
      ev.preventDefault(); showError(activity, "");
      var kind = ev.submitter ? ev.submitter.value : "call";
      var body = { customer_id: activity.dataset.customer, kind: kind };
      var note = activity.querySelector("textarea").value.trim();
      if (note) body.note = note;
      busy(activity, true);
      try {
        await api("POST", "/api/v1/activities", body, keyFor(activity, body));
        forgetKey(activity);
        toast(T.logged || "Logged");
        setTimeout(function () { location.reload(); }, 400);
      } catch (e) { showError(activity, e.message); busy(activity, false); }
    });
  }

  async function stopPushHere() {
    try {
      var reg = navigator.serviceWorker && await navigator.serviceWorker.getRegistration();
      var sub = reg && reg.pushManager && await reg.pushManager.getSubscription();
      if (!sub) return;
      await api("DELETE", "/api/v1/push/subscriptions?endpoint=" + encodeURIComponent(sub.endpoint));
      await sub.unsubscribe();
    } catch (e) { /* offline or already gone: the server prunes dead endpoints */ }
  }

  var logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", async function () {
      await stopPushHere();  // a shared phone must not keep receiving the previous user's alerts
      try { await api("POST", "/api/v1/auth/logout"); } catch (e) { /* the session may be gone already */ }
      if (navigator.serviceWorker && navigator.serviceWorker.controller) {
        navigator.serviceWorker.controller.postMessage({ type: "logout" });
      }
      if (window.caches) {
        try { await caches.delete("salesgate-pages"); } catch (e) { /* ignore */ }
      }
      location.href = "/login";
    });
  }

  // A sideways-scrolling row of filter chips: bring the selected one into view.
  document.querySelectorAll(".chip-scroll").forEach(function (strip) {
    var chosen = strip.querySelector("[aria-current]");
    if (chosen) strip.scrollLeft = Math.max(0, chosen.offsetLeft - strip.offsetLeft - (strip.clientWidth - chosen.offsetWidth) / 2);
  });

  // On the offline page (served in place of the page asked for), "try again" means: that page.
  var retry = document.getElementById("retry");
  if (retry && location.pathname !== "/offline") {
    retry.addEventListener("click", function (ev) { ev.preventDefault(); location.reload(); });
  }

  if ("serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () { /* not fatal */ });
    });
  }
  window.salesgate = { api: api, uuid: uuid, toast: toast, cookie: cookie, errorText: errorText, T: T,
                       showError: showError, checkFields: checkFields, busy: busy, keyFor: keyFor, forgetKey: forgetKey };
})();
