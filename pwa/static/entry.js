// A quick-entry form built from a playbook template: chips, date quick picks, then one save
// through the offline outbox (app.js save) so an entry made without network is sent later.
(function () {
  "use strict";
  var sg = window.salesgate;
  var form = document.getElementById("entry-form");
  var dataEl = document.getElementById("entry-data");
  if (!sg || !form || !dataEl) return;
  var D = JSON.parse(dataEl.textContent);

  form.querySelectorAll("[data-date-for]").forEach(function (b) {
    b.addEventListener("click", function () {
      var input = document.getElementById(b.dataset.dateFor);
      input.value = b.dataset.date;
      form.querySelectorAll('[data-date-for="' + b.dataset.dateFor + '"]').forEach(function (x) {
        x.classList.toggle("selected", x === b);
      });
    });
  });
  form.querySelectorAll("[data-fill]").forEach(function (b) {
    b.addEventListener("click", function () {
      var input = document.getElementById(b.dataset.fill);
      var names = input.value ? input.value.split("、").filter(Boolean) : [];
      var at = names.indexOf(b.dataset.value);
      if (at >= 0) names.splice(at, 1); else names.push(b.dataset.value);
      input.value = names.join("、");
      b.classList.toggle("selected", at < 0);
    });
  });

  function values() {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === "submit" || el.type === "button") return;
      if (el.type === "checkbox") {
        out[el.name] = out[el.name] || [];
        if (el.checked) out[el.name].push(el.value);
      } else if (el.type === "radio") {
        if (el.checked) out[el.name] = el.value;
      } else if (el.value.trim() !== "") {
        out[el.name] = el.type === "number" ? Number(el.value) : el.value.trim();
      }
    });
    return out;
  }

  form.addEventListener("submit", async function (ev) {
    ev.preventDefault(); sg.showError(form, "");
    var body = { values: values() };
    var url = "/api/v1/templates/" + encodeURIComponent(form.dataset.template) + "/entries";
    sg.busy(form, true);
    try {
      var saved = sg.save ? await sg.save(form, url, body, document.title) : await sg.api("POST", url, body);
      if (saved) sg.toast(D.saved);
      setTimeout(function () {
        location.href = saved && saved.opportunity_id ? "/opportunities/" + saved.opportunity_id
          : "/customers/" + D.customer;
      }, 300);
    } catch (e) {
      sg.showError(form, e.message, e.field);
      sg.busy(form, false);
    }
  });
})();
