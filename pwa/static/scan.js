// The trade-show scanner page: scan a badge (static/scan-camera.js), show who it is, tick products
// and interest, save through the offline outbox, and keep scanning for the next visitor.
// Works with no network: the page and scripts are in the service worker's cache, the product
// list is kept in localStorage, and a badge that cannot be read by the server right now is shown
// as its raw text and saved as it is.
(function () {
  "use strict";
  var sg = window.salesgate, Outbox = window.SalesgateOutbox, Cam = window.SalesgateCamera;
  var S = JSON.parse(document.getElementById("scan-i18n").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var form = $("lead-form"), manual = $("manual"), eventInput = $("event");
  var EVENT_KEY = "sg_scan_event", PRODUCTS_KEY = "sg_products", SESSION_KEY = "sg_scan_session";
  var PARSE_TIMEOUT_MS = 2500, REPEAT_NOTICE_MS = 4000;
  var camera = null;
  var current = null;   // the lead on screen: {payload, fields, manual, fix, decodedAt}
  var lastRepeat = { payload: "", at: 0 };
  var metrics = window.salesgateScan = { stats: Cam.stats, saves: [] };  // read by the browser tests

  function say(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k] == null ? "" : values[k]; });
  }

  // --- the event name, remembered on this phone until changed ---------------------------------------
  eventInput.value = localStorage.getItem(EVENT_KEY) || "";
  eventInput.addEventListener("change", function () { localStorage.setItem(EVENT_KEY, eventInput.value.trim()); });

  // --- product chips from the playbook's catalogue, cached for offline use --------------------------
  function renderProducts(products) {
    var box = $("products"), chosen = selectedProducts();
    box.textContent = "";
    products.forEach(function (p) {
      var chip = document.createElement("button");
      chip.type = "button"; chip.className = "chip"; chip.dataset.key = p.key; chip.textContent = p.name;
      chip.setAttribute("aria-pressed", chosen.indexOf(p.key) >= 0 ? "true" : "false");
      box.appendChild(chip);
    });
  }
  function selectedProducts() {
    return Array.prototype.map.call($("products").querySelectorAll('[aria-pressed="true"]'),
                                    function (c) { return c.dataset.key; });
  }
  $("products").addEventListener("click", function (ev) {
    var chip = ev.target.closest(".chip");
    if (chip) chip.setAttribute("aria-pressed", chip.getAttribute("aria-pressed") === "true" ? "false" : "true");
  });
  function loadProducts() {
    var cached = null;
    try { cached = JSON.parse(localStorage.getItem(PRODUCTS_KEY) || "null"); } catch (e) { cached = null; }
    if (cached && cached.items) renderProducts(cached.items);
    fetch("/api/v1/playbook", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (pb) {
        if (!pb || !pb.products) return;
        var items = pb.products.map(function (p) { return { key: p.key, name: p.name }; });
        localStorage.setItem(PRODUCTS_KEY, JSON.stringify({ at: Date.now(), items: items }));
        renderProducts(items);
      }).catch(function () { /* offline: the cached list stays */ });
  }

  // --- camera states ------------------------------------------------------------------------------
  var REASONS = { denied: S.camera_denied, absent: S.camera_absent, busy: S.camera_busy,
                  insecure: S.camera_insecure, failed: S.camera_failed, scanner_failed: S.scanner_failed };
  function onCameraState(state) {
    var status = $("camera-status");
    if (state === "starting") { status.textContent = S.starting; return; }
    document.body.classList.remove("camera-settling");  // see scan.css
    if (state === "scanning") {
      $("camera").hidden = false; $("camera-off").hidden = true;
      status.textContent = current ? S.paused : S.point;
      $("torch").hidden = !camera.hasTorch();
      if (current) camera.pause();  // a lead is open (e.g. an entry being fixed): scan after it
      return;
    }
    // No camera: say why, and open the form for typing the badge in.
    $("camera").hidden = true;
    $("camera-off").hidden = false;
    $("camera-off-reason").textContent = REASONS[state] || S.camera_failed;
    $("camera-retry").hidden = state === "absent" || state === "insecure";
    if (!current) openManual();
  }

  function startCamera() {
    if (!camera) camera = Cam.create($("video"), { onCode: onCode, onState: onCameraState });
    return camera.start();
  }

  $("camera-retry").addEventListener("click", startCamera);
  $("torch").addEventListener("click", function () {
    var btn = $("torch"), on = btn.getAttribute("aria-pressed") !== "true";
    camera.setTorch(on).then(function () { btn.setAttribute("aria-pressed", on ? "true" : "false"); })
      .catch(function () { btn.hidden = true; });
  });
  // A hidden page gives the camera back (battery, and other apps); it comes back when shown.
  document.addEventListener("visibilitychange", function () {
    if (!camera) return;
    if (document.hidden) camera.stop();
    else if ($("camera-off").hidden) startCamera();
  });

  // --- a decoded badge ----------------------------------------------------------------------------
  function onCode(payload) {
    var known = session().find(function (s) { return s.payload === payload; });
    if (known) {  // still in front of the camera after saving, or the same visitor again
      if (lastRepeat.payload !== payload || Date.now() - lastRepeat.at > REPEAT_NOTICE_MS) {
        sg.toast(say(S.already, { name: known.label }));
        lastRepeat = { payload: payload, at: Date.now() };
      }
      return;
    }
    Cam.beep();
    showLead({ payload: payload, fields: null, manual: false, decodedAt: performance.now() });
    parse(payload);
  }

  async function parse(payload) {
    showInfo(S.reading, false);
    var answer = await postJson("/api/v1/leads/parse", { payload: payload }, PARSE_TIMEOUT_MS);
    if (!current || current.payload !== payload) return;  // discarded meanwhile
    if (answer && answer.ok) {
      current.fields = answer.data;
      showFields(answer.data);
      showInfo("", false);
    } else if (answer && answer.status === 422) {
      showInfo(S.unrecognised, true);
      $("lead-save").disabled = true;
    } else {
      showInfo(S.offline_raw, false);  // no network (or the server is down): the raw text, still savable
    }
  }

  async function postJson(url, body, timeoutMs) {
    var abort = new AbortController(), timer = setTimeout(function () { abort.abort(); }, timeoutMs);
    try {
      var resp = await fetch(url, { method: "POST", credentials: "same-origin", signal: abort.signal, body: JSON.stringify(body),
                                    headers: { "Content-Type": "application/json", "Accept": "application/json",
                                               "X-CSRF-Token": sg.cookie("sg_csrf") } });
      var data = null;
      try { data = await resp.json(); } catch (e) { data = null; }
      return { ok: resp.ok, status: resp.status, data: data };
    } catch (e) {
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  // --- the lead form --------------------------------------------------------------------------------
  function showLead(lead) {
    current = lead;
    if (camera) camera.pause();
    $("camera").classList.add("compact");
    $("camera-status").textContent = S.paused;
    form.hidden = false;
    $("manual-open").hidden = true;
    $("lead-save").disabled = false;
    sg.showError(form, "");
    manual.hidden = manual.disabled = !lead.manual;
    $("lead-card").hidden = lead.manual;
    if (!lead.manual) {
      $("lead-name").textContent = S.unnamed;
      $("lead-facts").textContent = "";
      $("lead-raw").textContent = lead.payload;
      $("lead-raw").hidden = false;
    }
    window.scrollTo(0, 0);  // the camera strip, then the lead; Save is sticky at the bottom
  }

  function showFields(f) {
    $("lead-name").textContent = f.name || S.unnamed;
    var facts = $("lead-facts"), labels = form.dataset;
    facts.textContent = "";
    [["phone", labels.phone], ["company", labels.company], ["title", labels.title], ["email", labels.email]]
      .forEach(function (pair) {
        if (!f[pair[0]]) return;
        var dt = document.createElement("dt"), dd = document.createElement("dd");
        dt.textContent = pair[1]; dd.textContent = f[pair[0]];
        facts.appendChild(dt); facts.appendChild(dd);
      });
    $("lead-raw").hidden = true;
  }

  function showInfo(text, isError) {
    var info = $("lead-info");
    info.textContent = text; info.hidden = !text;
    info.classList.toggle("error", !!isError);
    $("manual-open").hidden = !isError;
  }

  function openManual(fields, focus) {
    showLead({ payload: "", fields: null, manual: true, decodedAt: 0 });
    fields = fields || {};
    ["name", "phone", "company", "title", "email"].forEach(function (k) { form.elements[k].value = fields[k] || ""; });
    if (focus) form.elements.name.focus({ preventScroll: true });  // only when asked: it opens the keyboard
  }
  $("manual-open").addEventListener("click", function () {
    var raw = current && !current.manual ? current.payload : "";
    openManual(current && current.fields, true);
    if (raw && !$("note").value) $("note").value = raw.slice(0, 2000);  // an unreadable badge: keep its text
  });

  function closeLead() {
    current = null;
    form.reset();
    form.hidden = true;
    manual.disabled = true;
    $("manual-open").hidden = false;
    $("camera").classList.remove("compact");
    $("camera-status").textContent = S.point;
    Array.prototype.forEach.call($("products").querySelectorAll(".chip"), function (c) { c.setAttribute("aria-pressed", "false"); });
    if (camera) camera.resume();
  }
  $("lead-discard").addEventListener("click", closeLead);

  // A typed-in visitor travels as a vCard, so the server reads, checks and merges it like a badge.
  function vcardText(v) { return String(v).replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/([,;])/g, "\\$1"); }
  function vcard(f) {
    var lines = ["BEGIN:VCARD", "VERSION:3.0", "FN:" + vcardText(f.name), "N:" + vcardText(f.name) + ";;;;"];
    if (f.company) lines.push("ORG:" + vcardText(f.company));
    if (f.title) lines.push("TITLE:" + vcardText(f.title));
    if (f.phone) lines.push("TEL;TYPE=CELL:" + vcardText(f.phone));
    if (f.email) lines.push("EMAIL:" + vcardText(f.email));
    lines.push("END:VCARD");
    return lines.join("\r\n");
  }

  function leadBody() {
    var body = { payload: current.payload };
    var event = eventInput.value.trim(), note = $("note").value.trim(), products = selectedProducts();
    var temp = form.querySelector('input[name="temperature"]:checked');
    if (current.manual) {
      var f = {};
      ["name", "phone", "company", "title", "email"].forEach(function (k) { var v = form.elements[k].value.trim(); if (v) f[k] = v; });
      current.fields = f;
      body.payload = vcard(f);
    }
    if (event) body.event = event;
    if (products.length) body.products = products;
    if (note) body.note = note;
    if (temp) body.temperature = temp.value;
    return body;
  }

  // A name for the lists while the server has not read the badge (offline): a rough look only.
  function labelFor(lead) {
    if (lead.fields && lead.fields.name) return lead.fields.name;
    var text = lead.payload || "", m;
    if ((m = text.match(/^FN[^:\r\n]*:(.+)$/im))) return m[1].trim().slice(0, 40);
    if ((m = text.match(/^MECARD:(?:.*?;)?N:([^;]+)/i))) {
      var parts = m[1].split(","), cjk = /[\u3400-\u9fff]/.test(m[1]);
      return (cjk ? parts.join("") : parts.reverse().join(" ")).trim().slice(0, 40);
    }
    if ((m = text.match(/(?:姓名|name)\s*[:：]\s*([^\r\n;]+)/i))) return m[1].trim().slice(0, 40);
    var line = text.split(/\r?\n/).map(function (l) { return l.trim(); })
      .filter(function (l) { return l && !/^(BEGIN|VERSION|END):/i.test(l); })[0];
    return line ? line.slice(0, 40) : S.unnamed;
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (!current) return;
    sg.showError(form, "");
    if (current.manual && !sg.checkFields(form)) return;
    eventInput.dispatchEvent(new Event("change"));
    var lead = current, body = leadBody(), label = labelFor(lead), id = Outbox.uuid();
    var entry = { id: id, payload: lead.manual ? "" : lead.payload, label: label, status: "sending", at: Date.now() };
    remember(entry);
    var fix = lead.fix;
    closeLead();
    var t0 = performance.now();
    Outbox.submit({ id: id, url: "/api/v1/leads/scan", body: body, label: label, kind: "lead", edit: "/scan",
                    fields: lead.fields }, { dropRejected: false }).catch(function () {
      // No IndexedDB (some private modes): send it straight away, without the safety net.
      return sg.api("POST", "/api/v1/leads/scan", body, id).then(function (data) {
        setStatus(id, data.merged ? "merged" : "saved", { customer_id: data.customer_id || null });
        return { outcome: "sent", data: data };
      }, function (err) {
        setStatus(id, "rejected");
        sg.toast(err.message);
        return { outcome: "failed" };
      });
    }).then(function (result) {
      if (fix) Outbox.remove(fix);
      if (result.outcome === "sent") {
        metrics.saves.push({ saveMs: performance.now() - t0, scanToSavedMs: lead.decodedAt ? performance.now() - lead.decodedAt : null });
        sg.toast(say(S.saved, { name: label }));
      } else if (result.outcome === "rejected") {
        sg.toast(say(S.rejected, { name: label }));
      } else if (result.outcome !== "failed") {
        sg.outboxQueued(say(S.queued, { name: label }));  // and asks for a Background Sync
      }
    });
  });

  // --- this session's captures (kept until the tab is closed) ----------------------------------------
  function session() {
    try { return JSON.parse(sessionStorage.getItem(SESSION_KEY) || "[]"); } catch (e) { return []; }
  }
  function saveSession(list) { sessionStorage.setItem(SESSION_KEY, JSON.stringify(list.slice(-50))); renderSession(); }
  function remember(entry) { saveSession(session().concat([entry])); }
  function setStatus(id, status, extra) {
    saveSession(session().map(function (s) { return s.id === id ? Object.assign(s, { status: status }, extra || {}) : s; }));
  }

  var STATUS_TEXT = { sending: S.status_sending, waiting: S.status_waiting, saved: S.status_saved,
                      merged: S.status_merged, rejected: S.status_rejected };
  function renderSession() {
    var list = session(), box = $("session-list");
    box.textContent = "";
    $("session-empty").hidden = list.length > 0;
    list.slice().reverse().forEach(function (s) {
      var li = document.createElement("li"), name = document.createElement(s.customer_id ? "a" : "span");
      var state = document.createElement(s.status === "rejected" ? "a" : "span");
      li.className = "session-item";
      name.className = "session-name"; name.textContent = s.label;
      if (s.customer_id) name.href = "/customers/" + s.customer_id;
      state.className = "session-state " + s.status; state.textContent = STATUS_TEXT[s.status] || s.status;
      if (s.status === "rejected") state.href = "/outbox";
      li.appendChild(name); li.appendChild(state);
      box.appendChild(li);
    });
  }

  Outbox.onChange(function (msg) {
    if (msg.type !== "settled") return;
    if (!session().some(function (s) { return s.id === msg.id; })) return;
    if (msg.outcome === "sent") {
      var data = msg.data || {};
      setStatus(msg.id, data.merged ? "merged" : "saved", { customer_id: data.customer_id || null });
    } else {
      setStatus(msg.id, msg.outcome === "rejected" ? "rejected" : "waiting");
    }
  });

  // Entries sent while this page was closed are no longer in the outbox: they were saved.
  async function reconcileSession() {
    var items = await Outbox.list(), byId = {};
    items.forEach(function (x) { byId[x.id] = x; });
    saveSession(session().map(function (s) {
      var item = byId[s.id];
      if (!item) return s.status === "sending" || s.status === "waiting" ? Object.assign(s, { status: "saved" }) : s;
      return Object.assign(s, { status: item.state === "rejected" ? "rejected" : "waiting" });
    }));
  }

  function renderOutboxCount() {
    Outbox.counts().then(function (c) {
      $("outbox-waiting").textContent = String(c.waiting);
      $("outbox-link").classList.toggle("attention", c.rejected > 0 || c.stale > 0);
    });
  }
  Outbox.onChange(renderOutboxCount);

  // /scan?fix=<outbox id>: an entry the server refused, opened for correcting.
  async function loadFix() {
    var id = new URLSearchParams(location.search).get("fix");
    var item = id ? await Outbox.get(id) : null;
    if (!item || item.kind !== "lead") return false;
    openManual(item.fields || {});
    current.fix = item.id;
    var b = item.body || {};
    if (b.event) eventInput.value = b.event;
    $("note").value = b.note || (!item.fields ? b.payload || "" : "");
    if (b.temperature) form.elements.temperature.value = b.temperature;
    (b.products || []).forEach(function (k) {
      var chip = $("products").querySelector('[data-key="' + CSS.escape(k) + '"]');
      if (chip) chip.setAttribute("aria-pressed", "true");
    });
    sg.showError(form, S.fix_loaded + " " + sg.errorText(item.error || {}));
    return true;
  }

  loadProducts();
  renderSession();
  reconcileSession().then(renderOutboxCount);
  loadFix().then(startCamera);
})();
