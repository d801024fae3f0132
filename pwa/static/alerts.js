// The bell in the top bar: the inbox's unread count, asked for when the page loads, when it becomes
// visible again and at most once a minute while it stays visible (no polling from hidden tabs); and
// the session's CSRF token handed to the service worker, which cannot read cookies but marks an
// alert read when its notification is tapped (sw.js, notificationclick).
(function () {
  "use strict";
  var sg = window.salesgate;
  var bell = document.getElementById("inbox-bell");
  if (!sg || !bell) return;  // logged out: no bell
  var count = bell.querySelector(".bell-count");
  var MIN_INTERVAL_MS = 60000;
  var SESSION_CACHE = "salesgate-session", CSRF_KEY = "/__salesgate/csrf";
  var lastAsked = 0, inFlight = null;

  function show(n) {
    n = Math.max(0, Number(n) || 0);
    count.hidden = n === 0;
    count.textContent = n > 99 ? "99+" : String(n);
    bell.setAttribute("aria-label", n ? bell.dataset.labelUnread.replace("{n}", n) : bell.dataset.label);
    bell.classList.toggle("has-unread", n > 0);
    // The icon on the home screen shows the same number, where the platform has app badges.
    try {
      if (n && navigator.setAppBadge) navigator.setAppBadge(n).catch(function () {});
      else if (!n && navigator.clearAppBadge) navigator.clearAppBadge().catch(function () {});
    } catch (e) { /* not supported here */ }
    document.dispatchEvent(new CustomEvent("salesgate:unread", { detail: { unread: n } }));
  }

  function refresh() {
    if (inFlight) return inFlight;
    lastAsked = Date.now();
    inFlight = fetch("/api/v1/inbox/unread", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (resp) { return resp.ok ? resp.json() : null; })
      .then(function (data) { if (data) show(data.unread); })
      .catch(function () { /* offline: keep what is shown */ })
      .then(function () { inFlight = null; });
    return inFlight;
  }

  function refreshIfDue() {
    if (document.visibilityState === "visible" && Date.now() - lastAsked >= MIN_INTERVAL_MS) refresh();
  }

  // The service worker reads this when a notification is tapped (see sw.js).
  function shareCsrf() {
    var csrf = sg.cookie("sg_csrf");
    if (!csrf || !window.caches) return;
    caches.open(SESSION_CACHE).then(function (cache) {
      return cache.match(CSRF_KEY).then(function (hit) { return hit ? hit.text() : ""; }).then(function (known) {
        if (known !== csrf) return cache.put(CSRF_KEY, new Response(csrf, { headers: { "Content-Type": "text/plain" } }));
      });
    }).catch(function () { /* no Cache Storage: the inbox page marks items read instead */ });
  }

  refresh();
  shareCsrf();
  document.addEventListener("visibilitychange", refreshIfDue);
  setInterval(refreshIfDue, MIN_INTERVAL_MS);
  if ("serviceWorker" in navigator) {
    // A push arrived, or a notification was tapped and its item marked read: show it now.
    navigator.serviceWorker.addEventListener("message", function (ev) {
      if (ev.data && ev.data.type === "inbox-changed") {
        if (typeof ev.data.unread === "number") show(ev.data.unread); else refresh();
      }
    });
  }

  window.SalesgateAlerts = { show: show, refresh: refresh };
})();
