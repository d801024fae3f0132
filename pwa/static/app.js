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

  // Writes that must survive a dead network go through the offline outbox (static/outbox.js):
  // stored with their Idempotency-Key first, sent now, replayed later when there was no answer.
  // Resolves with the server's answer, or null when the entry waits on the phone; a refusal
  // (4xx) is thrown like api() does, for the form to show, and not kept in the outbox.
  var Outbox = window.SalesgateOutbox;
  async function save(form, url, body, label) {
    var key = keyFor(form, body);
    if (!Outbox || !window.indexedDB) return api("POST", url, body, key);
    var result = await Outbox.submit({ id: key, url: url, body: body, label: label, kind: form.id,
                                       edit: location.pathname }, { dropRejected: true });
    if (form.dataset.fix) {  // the corrected entry replaces the refused one (awaited: a redirect follows)
      await Outbox.remove(form.dataset.fix).catch(function () {});
      delete form.dataset.fix;
    }
    forgetKey(form);
    if (result.outcome === "sent") return result.data;
    if (result.outcome === "rejected") {
      var data = result.data || {}, err = new Error(errorText(data));
      err.field = data.extra && data.extra.field; err.status = result.status; err.code = data.code;
      throw err;
    }
    if (result.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); }
    outboxQueued();
    return null;
  }

  function outboxQueued(message) {
    toast(message || T.queued || "Saved on this phone");
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (reg) {
      return reg.sync ? reg.sync.register("outbox") : undefined;
    }).catch(function () { /* no Background Sync: the online event and the next start replay it */ });
  }

  var login = document.getElementById("login-form");
  if (login) {
    login.addEventListener("submit", async function (ev) {
      ev.preventDefault(); showError(login, "");
      if (!checkFields(login)) return;
      busy(login, true);
      try {
        var answer = await api("POST", "/api/v1/auth/login", formData(login));
        var next = login.dataset.next || "/customers";
        // A temporary password from an admin: choose one's own first (routes/account.py).
        location.href = answer && answer.must_change_password ? "/password?next=" + encodeURIComponent(next) : next;
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
        var result;
        if (form.hasAttribute("data-outbox")) {
          result = await save(form, form.dataset.api, body, body.name || "");
          if (!result) { form.reset(); return; }  // waits on the phone; the form is free for the next one
        } else {
          result = await api("POST", form.dataset.api, body, keyFor(form, body));
          forgetKey(form);
        }
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
        var label = (document.querySelector(".customer-head h2") || {}).textContent || "";
        if (!(await save(activity, "/api/v1/activities", body, label))) {
          activity.reset(); busy(activity, false); return;  // waits on the phone
        }
        toast(T.logged || "Logged");
        setTimeout(function () { location.reload(); }, 400);
      } catch (e) { showError(activity, e.message); busy(activity, false); }
    });
  }

  // ?fix=<outbox id>: an entry the server refused on a later replay, opened in its form to correct.
  var fixId = new URLSearchParams(location.search).get("fix");
  var fixForm = document.querySelector("form[data-outbox]");
  if (fixId && fixForm && Outbox) {
    Outbox.get(fixId).then(function (item) {
      if (!item || item.kind !== fixForm.id) return;
      fixForm.dataset.fix = item.id;
      Object.keys(item.body || {}).forEach(function (name) {
        var el = fixForm.elements[name], value = item.body[name];
        var editable = el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement;
        if (editable && el.type !== "hidden" && typeof value !== "object") el.value = value;
      });
      showError(fixForm, errorText(item.error || {}), item.error && item.error.extra && item.error.extra.field);
    }).catch(function () {});
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

  // --- The outbox's badge in the top bar, and when it is replayed ------------------------------------
  var pill = document.getElementById("outbox-pill");
  function renderOutboxPill() {
    if (!pill || !Outbox) return;
    Outbox.counts().then(function (c) {
      var n = c.waiting + c.rejected;
      pill.hidden = n === 0;
      pill.querySelector(".outbox-count").textContent = String(n);
      pill.classList.toggle("attention", c.rejected > 0 || c.stale > 0);
      var text = (T.outbox_waiting || "{n}").replace("{n}", c.waiting);
      if (c.rejected) text += " · " + (T.outbox_rejected || "{n}").replace("{n}", c.rejected);
      if (c.stale) text += " · " + (T.outbox_stale || "");
      pill.setAttribute("aria-label", text); pill.title = text;
    }).catch(function () { pill.hidden = true; });
  }
  function replayOutbox() {
    if (!Outbox) return;
    Outbox.replay().catch(function () { /* offline or no IndexedDB: try again on the next trigger */ });
  }
  if (pill && Outbox && window.indexedDB) {  // logged in: the page has the tab bar and the badge
    Outbox.setSession({ user: pill.dataset.user, csrf: cookie("sg_csrf") }).then(replayOutbox);
    Outbox.onChange(renderOutboxPill);
    renderOutboxPill();
    window.addEventListener("online", replayOutbox);
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.ready.then(function (reg) {
        if (reg.active) reg.active.postMessage({ type: "warm-pages", paths: ["/scan", "/outbox"] });
      }).catch(function () {});
    }
  }

  window.salesgate = { api: api, uuid: uuid, toast: toast, cookie: cookie, errorText: errorText, T: T,
                       showError: showError, checkFields: checkFields, busy: busy, keyFor: keyFor, forgetKey: forgetKey,
                       outboxQueued: outboxQueued, save: save };
})();
