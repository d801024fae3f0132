// Salesgate offline outbox. Every write (a scanned lead, a new customer, a logged contact) is
// stored in IndexedDB with its own Idempotency-Key *before* it is sent, and replayed until the
// server has answered for it:
//   2xx                                   → removed (done)
//   network error, 5xx, 408, 429          → kept, tried again later
//   401, 403 csrf_failed, 409 in progress → kept too: not the entry's fault (log in again / wait)
//   any other 4xx                         → kept aside as "needs fixing", shown to the user
// Loaded by the pages (window.SalesgateOutbox) and by the service worker (importScripts), which
// share one database and one Web Lock, so a page replay and a Background Sync replay never send
// the same item at the same time. Each item is also "claimed" for CLAIM_MS inside an IndexedDB
// transaction before it is sent (the fallback where Web Locks are missing); and the server's
// idempotency keys make a duplicate harmless anyway.
(function (scope) {
  "use strict";
  var DB_NAME = "salesgate-outbox", DB_VERSION = 1, ITEMS = "items", META = "meta";
  var LOCK = "salesgate-outbox";
  var SEND_TIMEOUT_MS = 15000, CLAIM_MS = 30000;
  var STALE_MS = 24 * 3600 * 1000;
  var channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("salesgate-outbox") : null;
  var listeners = [];
  var dbPromise = null;

  function uuid() {
    if (scope.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function open() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = function () {
        var db = req.result;
        if (!db.objectStoreNames.contains(ITEMS)) db.createObjectStore(ITEMS, { keyPath: "id" });
        if (!db.objectStoreNames.contains(META)) db.createObjectStore(META);
      };
      req.onsuccess = function () {
        var db = req.result;
        db.onversionchange = function () { db.close(); dbPromise = null; };
        resolve(db);
      };
      req.onerror = function () { dbPromise = null; reject(req.error); };
    });
    return dbPromise;
  }

  // Runs fn(store) in one transaction; resolves with what fn's last request gave, once committed.
  function run(storeName, mode, fn) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(storeName, mode), result;
        var req = fn(t.objectStore(storeName), function (value) { result = value; });
        if (req) req.onsuccess = function () { if (result === undefined) result = req.result; };
        t.oncomplete = function () { resolve(result); };
        t.onerror = t.onabort = function () { reject(t.error); };
      });
    });
  }

  function notify(message) {
    if (channel) channel.postMessage(message);
    listeners.forEach(function (fn) { try { fn(message); } catch (e) { /* a listener's bug is not ours */ } });
  }

  function onChange(fn) { listeners.push(fn); }
  if (channel) channel.onmessage = function (ev) { listeners.forEach(function (fn) { fn(ev.data); }); };

  function list() {
    return run(ITEMS, "readonly", function (store) { return store.getAll(); }).then(function (items) {
      return (items || []).sort(function (a, b) { return a.created_at - b.created_at; });
    });
  }

  function get(id) { return run(ITEMS, "readonly", function (store) { return store.get(id); }); }

  function remove(id) {
    return run(ITEMS, "readwrite", function (store) { return store.delete(id); })
      .then(function () { notify({ type: "removed", id: id }); });
  }

  // The page tells the outbox who is logged in and the session's CSRF token (the service worker
  // cannot read cookies). Entries carry their author: another account's entries are not sent.
  function setSession(session) {
    return run(META, "readwrite", function (store) { return store.put(session, "session"); });
  }

  function getSession() {
    return run(META, "readonly", function (store) { return store.get("session"); })
      .then(function (s) { return s || {}; }, function () { return {}; });
  }

  function foreign(item, session) { return !!(item.user && session.user && item.user !== session.user); }

  // entry: {url, body, label, kind, edit?, id?} — id doubles as the Idempotency-Key.
  async function add(entry) {
    var session = await getSession();
    var item = {
      id: entry.id || uuid(), url: entry.url, method: entry.method || "POST", body: entry.body,
      label: entry.label || "", kind: entry.kind || "", edit: entry.edit || "", fields: entry.fields || null,
      created_at: Date.now(), state: "waiting", claimed_until: 0, attempts: 0, error: null,
      user: session.user || "", csrf: session.csrf || "",
    };
    return run(ITEMS, "readwrite", function (store) { return store.put(item); })
      .then(function () { notify({ type: "added", id: item.id }); return item; });
  }

  // Marks a waiting item as being sent, atomically; null when it is gone, set aside, or claimed
  // by another sender whose claim has not expired.
  function claim(id) {
    return run(ITEMS, "readwrite", function (store, done) {
      var req = store.get(id);
      req.onsuccess = function () {
        var item = req.result, now = Date.now();
        if (!item || item.state === "rejected" || (item.state === "sending" && item.claimed_until > now)) {
          done(null); return;
        }
        item.state = "sending"; item.claimed_until = now + CLAIM_MS; item.attempts += 1;
        store.put(item);
        done(item);
      };
    });
  }

  function classify(status, code) {
    if (status >= 200 && status < 300) return "sent";
    if (status >= 500 || status === 408 || status === 429 || status === 401) return "retry";
    if (status === 403 && code === "csrf_failed") return "retry";
    if (status === 409 && code === "idempotency_in_progress") return "retry";
    return "rejected";
  }

  async function transmit(item, session) {
    var csrf = session.csrf || item.csrf;
    var headers = { "Content-Type": "application/json", "Accept": "application/json", "Idempotency-Key": item.id };
    if (csrf) headers["X-CSRF-Token"] = csrf;
    var abort = typeof AbortController === "function" ? new AbortController() : null;
    var timer = setTimeout(function () { if (abort) abort.abort(); }, SEND_TIMEOUT_MS);
    try {
      var resp = await fetch(item.url, { method: item.method, headers: headers, body: JSON.stringify(item.body),
                                         credentials: "same-origin", signal: abort ? abort.signal : undefined });
      var data = null;
      try { data = await resp.json(); } catch (e) { data = null; }
      return { outcome: classify(resp.status, data && data.code), status: resp.status, data: data };
    } catch (e) {
      return { outcome: "offline", status: 0, data: null };
    } finally {
      clearTimeout(timer);
    }
  }

  // Records what the server said. dropRejected: the user is looking at the form and is told there.
  function settle(item, result, dropRejected) {
    return run(ITEMS, "readwrite", function (store) {
      if (result.outcome === "sent" || (result.outcome === "rejected" && dropRejected)) return store.delete(item.id);
      item.state = result.outcome === "rejected" ? "rejected" : "waiting";
      item.claimed_until = 0;
      item.error = result.status ? { status: result.status, code: result.data && result.data.code,
                                      detail: result.data && result.data.detail, extra: result.data && result.data.extra } : null;
      return store.put(item);
    }).then(function () {
      notify({ type: "settled", id: item.id, outcome: result.outcome, status: result.status, data: result.data });
      return result;
    });
  }

  function withLock(fn) {
    if (scope.navigator && navigator.locks && navigator.locks.request) return navigator.locks.request(LOCK, fn);
    return fn();
  }

  async function sendClaimed(id, dropRejected) {
    var session = await getSession();
    var item = await claim(id);
    if (!item) return { outcome: "skipped", status: 0, data: null };
    if (foreign(item, session)) return settle(item, { outcome: "foreign", status: 0, data: null }, false);
    return settle(item, await transmit(item, session), dropRejected);
  }

  // Sends one item now (a form the user just submitted), waiting its turn behind a replay.
  function sendNow(id, options) {
    return withLock(function () { return sendClaimed(id, options && options.dropRejected); });
  }

  // Sends every waiting item, oldest first; stops at the first sign the network or server is down.
  var replaying = null;
  function replay() {
    if (replaying) return replaying;  // one per page or worker; the lock orders page against worker
    replaying = withLock(async function () {
      var summary = { sent: 0, rejected: 0, left: 0 };
      var items = await list();
      for (var i = 0; i < items.length; i++) {
        if (items[i].state === "rejected") continue;
        var result = await sendClaimed(items[i].id, false);
        if (result.outcome === "sent") summary.sent += 1;
        else if (result.outcome === "rejected") summary.rejected += 1;
        else if (result.outcome !== "skipped" && result.outcome !== "foreign") break;
      }
      summary.left = (await list()).filter(function (x) { return x.state !== "rejected"; }).length;
      return summary;
    }).finally(function () { replaying = null; });
    return replaying;
  }

  function submit(entry, options) {
    return add(entry).then(function (item) {
      return sendNow(item.id, options).then(function (result) { result.item = item; return result; });
    });
  }

  function counts() {
    return list().then(function (items) {
      var now = Date.now(), out = { waiting: 0, rejected: 0, stale: 0, total: items.length };
      items.forEach(function (x) {
        if (x.state === "rejected") out.rejected += 1; else out.waiting += 1;
        if (now - x.created_at > STALE_MS) out.stale += 1;
      });
      return out;
    });
  }

  scope.SalesgateOutbox = {
    add: add, get: get, list: list, remove: remove, counts: counts, submit: submit, sendNow: sendNow,
    replay: replay, setSession: setSession, getSession: getSession, foreign: foreign, onChange: onChange,
    uuid: uuid, STALE_MS: STALE_MS,
  };
})(self);
