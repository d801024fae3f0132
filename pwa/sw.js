// Salesgate service worker: precached shell, network-first pages with a 3 s
// timeout and an offline page, API requests straight to the network; the offline outbox
// (static/outbox.js) replayed on Background Sync, on start and when a page asks.
importScripts("/static/outbox.js");
const VERSION = "v7";
const SHELL = "salesgate-shell-" + VERSION;
const PAGES = "salesgate-pages";
const PRECACHE = [
  "/offline",
  "/static/app.css",
  "/static/app.js",
  "/static/alerts.js",
  "/static/inbox.js",
  "/static/push.js",
  "/static/opportunity.js",
  "/static/outbox.js",
  "/static/outbox-page.js",
  "/static/scan.js",
  "/static/scan-camera.js",
  "/static/scan.css",
  "/static/scan-worker.js",
  "/static/vendor/zxing-wasm/zxing-reader.js",
  "/static/vendor/zxing-wasm/zxing_reader.wasm",
  "/manifest.webmanifest",
  "/static/icons/icon-192.png",
  "/static/icons/icon-512.png",
];
const NAV_TIMEOUT_MS = 3000;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((c) => c.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const keys = await caches.keys();
    await Promise.all(keys.filter((k) => k.startsWith("salesgate-shell-") && k !== SHELL).map((k) => caches.delete(k)));
    await self.clients.claim();
  })());
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "logout") {
    event.waitUntil(caches.delete(PAGES));
  }
  if (event.data && event.data.type === "outbox-replay") {
    event.waitUntil(self.SalesgateOutbox.replay().catch(() => undefined));
  }
  if (event.data && event.data.type === "warm-pages") {
    event.waitUntil(warmPages(event.data.paths || []));
  }
});

// --- Offline outbox ------------------------------------------------------------------------------
// Background Sync fires when the connection is back, even with the app closed (Chromium).
self.addEventListener("sync", (event) => {
  if (event.tag !== "outbox") return;
  // Rejecting makes the browser try the sync again later while entries are still waiting.
  event.waitUntil(self.SalesgateOutbox.replay().then((summary) => {
    if (summary.left) throw new Error(summary.left + " entries still waiting");
  }));
});
// On every start of the worker (Safari and Firefox have no Background Sync).
self.SalesgateOutbox.replay().catch(() => undefined);

// Pages that must open with no network at all (the trade-show scanner), fetched once while the
// user is logged in, so they work offline even if never opened before.
const WARM_PATHS = new Set(["/scan", "/outbox"]);
async function warmPages(paths) {
  const cache = await caches.open(PAGES);
  for (const path of paths) {
    if (!WARM_PATHS.has(path) || (await cache.match(path, { ignoreVary: true }))) continue;
    try {
      const response = await fetch(path, { credentials: "same-origin" });
      if (response.ok && !response.redirected) await cache.put(path, response);
    } catch (err) { /* offline: next time */ }
  }
}

function timeout(ms) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms));
}

async function networkFirstPage(request) {
  const cache = await caches.open(PAGES);
  try {
    const response = await Promise.race([fetch(request), timeout(NAV_TIMEOUT_MS)]);
    const url = new URL(response.url || request.url);
    if (response.ok && !response.redirected && url.pathname !== "/login") {
      await cache.put(request, response.clone());
    }
    if (url.pathname === "/login") await caches.delete(PAGES);
    return response;
  } catch (err) {
    const cached = await cache.match(request, { ignoreVary: true });
    if (cached) return cached;
    return (await caches.match("/offline")) || new Response("Offline", { status: 503 });
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || request.method !== "GET") return;
  if (url.pathname.startsWith("/api/")) return; // network-only
  if (request.mode === "navigate") {
    event.respondWith(networkFirstPage(request));
    return;
  }
  if (url.pathname.startsWith("/static/")) {
    // Stale-while-revalidate: instant from cache, refreshed for next time. Pages ask for
    // /static/app.js?v=<content hash> (cached by the browser for a year); this cache keeps one copy
    // per file, under its plain URL, as PRECACHE lists it.
    const key = url.origin + url.pathname;
    const refresh = caches.open(SHELL).then((cache) => fetch(request).then((response) => {
      if (response.ok) cache.put(key, response.clone());
      return response;
    }));
    event.respondWith(caches.match(key).then((hit) => hit || refresh));
    event.waitUntil(refresh.catch(() => undefined));
  }
});

// --- Web Push: alerts as notifications ------------------------------------------------------------
// The payload is JSON {title, body, url, tag, id} (server/queries/push.py), id being the inbox item.
// The inbox always holds the alert too, so a lost or unreadable push loses nothing.
const SESSION = "salesgate-session";  // written by the pages: static/alerts.js (CSRF), static/push.js
const ICON = "/static/icons/icon-192.png";

self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (err) { data = { body: event.data.text() }; }
  event.waitUntil(showAlert(data));
});

async function showAlert(data) {
  const tag = data.tag || (data.id ? "inbox-" + data.id : "salesgate");
  await self.registration.showNotification(data.title || "Salesgate", {
    body: data.body || "", tag, renotify: false, icon: ICON, badge: ICON,
    data: { url: data.url || "/inbox", id: data.id || null },
  });
  await updateBadge(await unreadCount());
}

self.addEventListener("notificationclick", (event) => {
  event.waitUntil(clickNotification(event.notification));
});

// Tests cannot tap an OS notification in headless Chromium: a page may ask the worker to run the
// very same click code for a notification it is showing (found by tag).
self.addEventListener("message", (event) => {
  if (!event.data || event.data.type !== "notification-click") return;
  event.waitUntil(self.registration.getNotifications({ tag: event.data.tag }).then((found) =>
    Promise.all(found.map(clickNotification))));
});

async function clickNotification(notification) {
  notification.close();
  const data = notification.data || {};
  const url = sameOrigin(data.url);
  const windows = await self.clients.matchAll({ type: "window" });
  const client = windows.find((c) => c.focused) || windows.find((c) => c.visibilityState === "visible") || windows[0];
  if (client) await client.focus().catch(() => undefined);
  await markRead(data.id);  // before the page opens, so its bell shows the new count
  if (client) {
    try {
      if (await client.navigate(url)) return;
    } catch (err) { /* not ours to navigate: open a new window */ }
  }
  await self.clients.openWindow(url);
}

function sameOrigin(value) {
  try {
    const url = new URL(value || "/inbox", self.location.origin);
    if (url.origin === self.location.origin) return url.href;
  } catch (err) { /* fall through */ }
  return new URL("/inbox", self.location.origin).href;
}

async function sessionValue(key) {
  try {
    const hit = await (await caches.open(SESSION)).match(key);
    return hit ? await hit.text() : "";
  } catch (err) { return ""; }
}

async function markRead(id) {
  const csrf = await sessionValue("/__salesgate/csrf");
  if (!id || !csrf) return;  // the inbox page marks it read when tapped there
  try {
    const response = await Promise.race([fetch("/api/v1/inbox/" + encodeURIComponent(id) + "/read", {
      method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf, "Accept": "application/json" },
    }), timeout(2000)]);
    if (response.ok) await updateBadge((await response.json()).unread);
  } catch (err) { /* offline or logged out: it stays unread in the inbox */ }
}

async function unreadCount() {
  try {
    const response = await Promise.race([fetch("/api/v1/inbox/unread", { credentials: "same-origin" }), timeout(3000)]);
    return response.ok ? (await response.json()).unread : null;
  } catch (err) { return null; }
}

// The app icon's badge and the bells of open pages; null: unknown count, a dot where supported.
async function updateBadge(unread) {
  try {
    if (unread === 0 && self.navigator.clearAppBadge) await self.navigator.clearAppBadge();
    else if (self.navigator.setAppBadge) await (unread ? self.navigator.setAppBadge(unread) : self.navigator.setAppBadge());
  } catch (err) { /* no app badge on this platform */ }
  const windows = await self.clients.matchAll({ type: "window" });
  windows.forEach((c) => c.postMessage({ type: "inbox-changed", unread }));
}

// The push service replaced or expired the subscription: subscribe again with the same server key
// and tell the server (new endpoint in, old one out). Pages sent the CSRF token and the device label.
self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil(resubscribe(event.oldSubscription, event.newSubscription).catch(() => undefined));
});

async function resubscribe(oldSub, newSub) {
  let sub = newSub;
  if (!sub) {
    let key = oldSub && oldSub.options && oldSub.options.applicationServerKey;
    if (!key) key = (await (await fetch("/api/v1/push/vapid-public-key")).json()).key;
    sub = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }
  const csrf = await sessionValue("/__salesgate/csrf");
  let meta = {};
  try { meta = JSON.parse((await sessionValue("/__salesgate/push")) || "{}"); } catch (err) { meta = {}; }
  const headers = { "Content-Type": "application/json", "X-CSRF-Token": csrf };
  await fetch("/api/v1/push/subscriptions", {
    method: "POST", credentials: "same-origin", headers, body: JSON.stringify({ ...sub.toJSON(), ...meta }),
  });
  if (oldSub && oldSub.endpoint !== sub.endpoint) {
    await fetch("/api/v1/push/subscriptions?endpoint=" + encodeURIComponent(oldSub.endpoint),
                { method: "DELETE", credentials: "same-origin", headers });
  }
}
