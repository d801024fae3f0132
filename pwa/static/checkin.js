// The daily three-things check-in: lines become items, screenshots are uploaded first, then PUT today's check-in.
(function () {
  "use strict";
  var sg = window.salesgate;
  var form = document.getElementById("checkin-form");
  var dataEl = document.getElementById("checkin-data");
  if (!sg || !form || !dataEl) return;
  var D = JSON.parse(dataEl.textContent);

  function lines(text) {
    return text.split("\n").map(function (l) { return l.trim().slice(0, 200); }).filter(Boolean).slice(0, 10);
  }

  form.addEventListener("submit", async function (ev) {
    ev.preventDefault(); sg.showError(form, "");
    var body = { done: lines(form.elements.done.value), tomorrow: lines(form.elements.tomorrow.value), support: [],
                 attachment_ids: D.kept.slice() };
    for (var i = 0; i < 3; i++) {
      var who = form.elements["who-" + i].value, text = form.elements["ask-" + i].value.trim();
      if (who && text) body.support.push({ user_id: who, text: text });
    }
    sg.busy(form, true);
    try {
      var files = Array.prototype.slice.call(form.elements.files.files || [], 0, 6 - body.attachment_ids.length);
      for (var f = 0; f < files.length; f++) body.attachment_ids.push((await window.sgEvidence.upload(files[f])).id);
      await sg.api("PUT", "/api/v1/checkins/today", body);
      sg.toast(D.saved);
      setTimeout(function () { location.reload(); }, 300);
    } catch (e) { sg.showError(form, e.message); sg.busy(form, false); }
  });
})();
