// The silent-customer workbench (templates/workbench.html): log a contact, snooze, wake a snoozed customer.
// A logged contact goes through the offline outbox (static/outbox.js) like every other contact, so it is
// never lost nor saved twice; the row leaves the list at once.
(function () {
  "use strict";
  var sg = window.salesgate;
  var list = document.getElementById("silent-list");
  if (!sg || !list) return;
  var W = {};
  try { W = JSON.parse(document.getElementById("workbench-i18n").textContent); } catch (e) { W = {}; }
  var Outbox = window.SalesgateOutbox;
  var summary = document.getElementById("wb-summary");
  var empty = document.getElementById("wb-empty");

  function fill(text, values) {
    return Object.keys(values).reduce(function (t, k) { return t.split("{" + k + "}").join(values[k]); }, text || "");
  }

  function removeCustomer(customerId) {
    list.querySelectorAll('.wb-row[data-customer="' + customerId + '"]').forEach(function (row) { row.remove(); });
    var total = Math.max(0, Number(summary.dataset.total || 0) - 1);
    summary.dataset.total = String(total);
    summary.textContent = total ? fill(W.count, { n: total }) : "";
    if (!list.querySelector(".wb-row")) { list.hidden = true; if (empty) empty.hidden = false; }
  }

  // A video meeting opened from this row is logged as a meeting, anything else as a call.
  async function logContact(row, button) {
    var body = { customer_id: row.dataset.customer, kind: row.dataset.video ? "meeting" : "call" };
    button.disabled = true;
    try {
      if (Outbox && window.indexedDB) {
        var result = await Outbox.submit({ id: sg.uuid(), url: "/api/v1/activities", body: body,
                                           label: row.dataset.name, kind: "workbench-contact", edit: "/workbench" },
                                         { dropRejected: true });
        if (result.outcome === "rejected") throw new Error(sg.errorText(result.data || {}));
        if (result.outcome !== "sent" && sg.outboxQueued) sg.outboxQueued();
      } else {
        await sg.api("POST", "/api/v1/activities", body);
      }
      removeCustomer(row.dataset.customer);
      sg.toast(fill(W.logged, { name: row.dataset.name }));
    } catch (e) {
      button.disabled = false;
      sg.toast(e.message);
    }
  }

  function toggleSnooze(row, open) {
    var form = row.querySelector(".wb-snooze"), opener = row.querySelector(".wb-snooze-open");
    form.hidden = !open;
    opener.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) form.elements.reason.focus(); else opener.focus();
  }

  async function snooze(row, form) {
    sg.showError(form, "");
    if (!sg.checkFields(form)) return;
    var body = { customer_id: row.dataset.customer, reason: form.elements.reason.value.trim(),
                 until: form.elements.until.value };
    sg.busy(form, true);
    try {
      await sg.api("POST", "/api/v1/workbench/snoozes", body, sg.keyFor(form, body));
      sg.forgetKey(form);
      removeCustomer(row.dataset.customer);
      sg.toast(fill(W.snoozed, { name: row.dataset.name, date: body.until }));
    } catch (e) {
      sg.showError(form, e.message, e.field);
      sg.busy(form, false);
    }
  }

  list.addEventListener("click", function (ev) {
    var row = ev.target.closest(".wb-row");
    if (!row) return;
    if (ev.target.closest(".wb-video")) row.dataset.video = "1";
    var log = ev.target.closest(".wb-log");
    if (log) logContact(row, log);
    if (ev.target.closest(".wb-snooze-open")) toggleSnooze(row, row.querySelector(".wb-snooze").hidden);
    if (ev.target.closest(".wb-snooze-cancel")) toggleSnooze(row, false);
  });

  list.addEventListener("submit", function (ev) {
    ev.preventDefault();
    snooze(ev.target.closest(".wb-row"), ev.target);
  });

  document.querySelectorAll(".wb-wake").forEach(function (button) {
    button.addEventListener("click", async function () {
      var item = button.closest("[data-customer]");
      button.disabled = true;
      try {
        await sg.api("DELETE", "/api/v1/workbench/snoozes/" + encodeURIComponent(item.dataset.customer));
        location.reload();
      } catch (e) { button.disabled = false; sg.toast(e.message); }
    });
  });
})();
