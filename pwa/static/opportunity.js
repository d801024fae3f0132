// The opportunity page: upload missing materials, save the stage's details, advance, mark lost.
// Uses the helpers app.js puts on window.salesgate (loaded before this file, both deferred).
(function () {
  "use strict";
  var sg = window.salesgate;
  var dataEl = document.getElementById("opp-data");
  if (!sg || !dataEl) return;
  var D = JSON.parse(dataEl.textContent);
  var T = sg.T;
  var base = "/api/v1/opportunities/" + encodeURIComponent(D.id);

  function reloadSoon() { setTimeout(function () { location.reload(); }, 300); }

  function say(box, message) {
    if (!box) return;
    box.textContent = message || ""; box.hidden = !message;
  }

  // The same sentences the page was rendered with, for the list a refused move sends back.
  function missingText(m) {
    var who = D.people[m.owner_role] || m.owner_role;
    var what, tpl;
    if (m.material) { what = D.material[m.material] || m.material; tpl = D.msg.material; }
    else if (m.field) { what = D.field[m.field] || m.field; tpl = D.msg.field; }
    else { what = D.node[m.node] || m.node; tpl = D.msg[m.action] || D.msg.action; }
    return tpl.replace("{what}", what).replace("{who}", who);
  }

  // Centre the current stage in the sideways-scrolling stepper.
  var current = document.querySelector(".stepper .current");
  if (current) {
    var strip = current.parentElement;
    strip.scrollLeft = Math.max(0, current.offsetLeft - (strip.clientWidth - current.offsetWidth) / 2);
  }

  // Straight to storage: presign → PUT → confirm, so the app never carries the bytes. When this
  // device cannot reach the storage address (or storage refuses the PUT), the same file goes
  // through the app as multipart instead. Type and size are judged by the server either way.
  async function upload(file, material, onProgress) {
    var pre;
    try {
      pre = await sg.api("POST", base + "/attachments/presign", { material: material, filename: file.name || "file",
                                                                   size: file.size });
    } catch (e) {
      if (e.status === 413 || e.status === 422 || e.status === 404) throw e;
      return uploadThroughApp(file, material, onProgress);
    }
    var put = await putFile(pre.url, file, onProgress);
    if (!put) return uploadThroughApp(file, material, onProgress);
    return sg.api("POST", "/api/v1/attachments/" + pre.attachment_id + "/confirm");
  }

  function putFile(url, file, onProgress) {
    return new Promise(function (resolve) {
      var xhr = new XMLHttpRequest();
      xhr.open("PUT", url);
      xhr.upload.onprogress = function (ev) { if (ev.lengthComputable) onProgress(ev.loaded / ev.total); };
      xhr.onload = function () { resolve(xhr.status >= 200 && xhr.status < 300); };
      xhr.onerror = function () { resolve(false); };
      xhr.send(file);
    });
  }

  // XMLHttpRequest, not fetch: fetch cannot report upload progress, and a photo on a phone
  // network takes a while. A new Idempotency-Key per chosen file.
  function uploadThroughApp(file, material, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", base + "/attachments");
      xhr.setRequestHeader("Accept", "application/json");
      var csrf = sg.cookie("sg_csrf");
      if (csrf) xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.setRequestHeader("Idempotency-Key", sg.uuid());
      xhr.upload.onprogress = function (ev) { if (ev.lengthComputable) onProgress(ev.loaded / ev.total); };
      xhr.onload = function () {
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        if (xhr.status >= 200 && xhr.status < 300) { resolve(data); return; }
        if (xhr.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); }
        reject(new Error(sg.errorText(data)));
      };
      xhr.onerror = function () { reject(new Error(T.offline || "offline")); };
      var form = new FormData();
      form.append("material", material);
      form.append("file", file, file.name);
      xhr.send(form);
    });
  }

  document.querySelectorAll(".material[data-material]").forEach(function (row) {
    var error = row.querySelector(".form-error");
    var progress = row.querySelector(".upload-progress");
    var bar = progress && progress.querySelector("progress");
    function setBusy(on) {
      row.setAttribute("aria-busy", on ? "true" : "false");
      row.querySelectorAll("button").forEach(function (b) { b.disabled = on; });
      if (progress) progress.hidden = !on;
      if (bar) bar.value = 0;
    }
    row.querySelectorAll("[data-pick]").forEach(function (button) {
      button.addEventListener("click", function () {
        var input = row.querySelector('input[data-input="' + button.dataset.pick + '"]');
        if (!input) return;
        input.value = "";  // choosing the same file again still counts as a change
        input.click();
      });
    });
    row.querySelectorAll("input[type=file]").forEach(function (input) {
      input.addEventListener("change", async function () {
        var file = input.files && input.files[0];
        if (!file) return;
        say(error, "");
        var max = Number(row.dataset.maxBytes);
        if (max && file.size > max) {  // say it before sending megabytes over a phone network
          say(error, sg.errorText({ code: "file_too_large", extra: { max_bytes: max } }));
          return;
        }
        setBusy(true);
        try {
          await upload(file, row.dataset.material, function (share) { if (bar) bar.value = Math.round(share * 100); });
          sg.toast(D.msg.uploaded);
          reloadSoon();
        } catch (e) {
          setBusy(false);
          say(error, e.message);
          error.scrollIntoView({ block: "nearest" });
        }
      });
    });
  });

  var advance = document.getElementById("advance-btn");
  if (advance) {
    advance.addEventListener("click", async function () {
      var box = document.getElementById("advance");
      var error = box.querySelector(".form-error");
      say(error, "");
      advance.disabled = true;
      try {
        await sg.api("POST", base + "/transition", { to: advance.dataset.to });
        sg.toast(D.msg.moved);
        reloadSoon();
      } catch (e) {
        advance.disabled = false;
        if (e.code === "gate_blocked" && e.extra && e.extra.missing) {
          var list = document.getElementById("blocking-list");
          list.textContent = "";
          e.extra.missing.forEach(function (m) {
            var li = document.createElement("li");
            li.textContent = missingText(m);
            list.appendChild(li);
          });
          document.getElementById("blocking").hidden = false;
          var ready = box.querySelector(".ready");
          if (ready) ready.hidden = true;
          advance.classList.remove("primary"); advance.classList.add("blocked");
          advance.setAttribute("aria-describedby", "blocking");
        }
        say(error, e.message);
      }
    });
  }

  var fields = document.getElementById("fields-form");
  if (fields) {
    fields.addEventListener("submit", async function (ev) {
      ev.preventDefault(); sg.showError(fields, "");
      if (!sg.checkFields(fields)) return;
      var values = {};
      fields.querySelectorAll("input[name]").forEach(function (input) {
        var v = input.value.trim();
        values[input.name] = v === "" ? null : (input.type === "number" ? Number(v) : v);
      });
      sg.busy(fields, true);
      try {
        await sg.api("PATCH", base, { fields: values });  // PATCH: CSRF header, no idempotency key needed
        sg.toast(T.saved || "Saved");
        reloadSoon();
      } catch (e) { sg.showError(fields, e.message, e.field); sg.busy(fields, false); }
    });
  }

  // A colleague's contribution: optional screenshot first (its own upload), then the record.
  var contrib = document.getElementById("contrib-form");
  if (contrib) {
    contrib.addEventListener("submit", async function (ev) {
      ev.preventDefault(); sg.showError(contrib, "");
      if (!sg.checkFields(contrib)) return;
      sg.busy(contrib, true);
      try {
        var body = { kind: contrib.elements.kind.value, note: contrib.elements.note.value.trim() };
        var file = contrib.elements.file.files && contrib.elements.file.files[0];
        if (file) body.attachment_id = (await window.sgEvidence.upload(file)).id;
        await sg.api("POST", base + "/contributions", body, sg.keyFor(contrib, body));
        sg.forgetKey(contrib);
        sg.toast(D.msg.contributed);
        reloadSoon();
      } catch (e) { sg.showError(contrib, e.message); sg.busy(contrib, false); }
    });
  }

  var lost = document.getElementById("lost-form");
  if (lost) {
    lost.addEventListener("submit", async function (ev) {
      ev.preventDefault(); sg.showError(lost, "");
      if (!sg.checkFields(lost)) return;
      var body = { to: "lost", reason: lost.elements.reason.value.trim() };
      sg.busy(lost, true);
      try {
        await sg.api("POST", base + "/transition", body, sg.keyFor(lost, body));
        sg.forgetKey(lost);
        reloadSoon();
      } catch (e) { sg.showError(lost, e.message); sg.busy(lost, false); }
    });
  }
})();
