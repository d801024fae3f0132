// Salesgate service worker: precached shell, network-first pages with a 3 s
// timeout and an offline page, API requests straight to the network.
const VERSION = "v3";
const SHELL = "salesgate-shell-" + VERSION;
const PAGES = "salesgate-pages";
const PRECACHE = [
  "/offline",
  "/static/app.css",
  "/static/app.js",
  "/static/opportunity.js",
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
});

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
    // Stale-while-revalidate: instant from cache, refreshed for next time.
    const refresh = caches.open(SHELL).then((cache) => fetch(request).then((response) => {
      if (response.ok) cache.put(request, response.clone());
      return response;
    }));
    event.respondWith(caches.match(request).then((hit) => hit || refresh));
    event.waitUntil(refresh.catch(() => undefined));
  }
});
