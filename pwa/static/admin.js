// The admin screens (/admin/…) and the change-password screen: every change goes to the JSON API
// (app.js's api() sends the CSRF header); the pages are reloaded or moved on after it.
(function () {
  "use strict";
  var S = window.salesgate;
  var A = {};
  try { A = JSON.parse(document.getElementById("admin-i18n").textContent); } catch (e) { A = {}; }
  if (!S) return;

  function say(err) { return (err && err.code && A["err_" + err.code]) || (err && err.message) || S.T.error; }
  function fill(text, values) {
    return String(text || "").replace(/\{(\w+)\}/g, function (_, k) { return values[k] === undefined ? "" : values[k]; });
  }
  function errorBox(scope, text) {
    var box = scope.querySelector(".form-error");
    if (box) { box.textContent = text || ""; box.hidden = !text; }
  }
  function fail(scope, err) {
    errorBox(scope, say(err));
    var name = err && err.extra && err.extra.field;
    var el = name && scope.querySelector('[name="' + name + '"]');
    if (el && el.focus) { el.setAttribute("aria-invalid", "true"); el.focus(); }
  }
  function later(fn) { setTimeout(fn, 500); }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  // A file as multipart/form-data (api() sends JSON only).
  async function upload(url, file) {
    var body = new FormData();
    body.append("file", file);
    var headers = { "Accept": "application/json" }, csrf = S.cookie("sg_csrf");
    if (csrf) headers["X-CSRF-Token"] = csrf;
    var resp;
    try {
      resp = await fetch(url, { method: "POST", body: body, headers: headers, credentials: "same-origin" });
    } catch (e) { throw new Error(S.T.offline || "offline"); }
    var data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    if (!resp.ok) {
      var err = new Error((data && data.detail) || S.T.error);
      err.code = data ? data.code : (resp.status === 413 ? "payload_too_large" : null);
      err.extra = (data && data.extra) || {}; err.status = resp.status;
      throw err;
    }
    return data;
  }

  function showSecret(value, next) {
    var box = document.getElementById("secret-box");
    if (!box) return;
    document.getElementById("secret-value").textContent = value;
    var link = document.getElementById("secret-next");
    if (next) { link.href = next; link.hidden = false; }
    box.hidden = false;
    box.scrollIntoView({ block: "center" });
  }
  var copy = document.getElementById("secret-copy");
  if (copy) {
    copy.addEventListener("click", function () {
      var text = document.getElementById("secret-value").textContent;
      if (navigator.clipboard) navigator.clipboard.writeText(text).then(function () { S.toast(A.copied || "Copied"); }).catch(function () {});
    });
  }

  // ---- the user form: create (POST) or edit (PATCH)
  var userForm = document.getElementById("admin-user-form");
  if (userForm) {
    userForm.addEventListener("submit", async function (ev) {
      ev.preventDefault(); errorBox(userForm, "");
      if (!S.checkFields(userForm)) return;
      var roles = Array.prototype.filter.call(userForm.querySelectorAll('input[name="roles"]'), function (c) { return c.checked; })
        .map(function (c) { return c.value; });
      var fieldset = document.getElementById("f-roles");
      if (!roles.length) {
        errorBox(userForm, (S.T.required || "{field}").replace("{field}", fieldset.querySelector("legend").textContent.replace("*", "").trim()));
        fieldset.querySelector("input").focus();
        return;
      }
      var v = function (name) { var f = userForm.elements[name]; return f ? f.value.trim() : ""; };
      var body = { display_name: v("display_name") || undefined, roles: roles, team_id: v("team_id") || null,
                   manager_id: v("manager_id") || null, phone: v("phone") || null };
      var id = userForm.dataset.user;
      S.busy(userForm, true);
      try {
        if (id) {
          await S.api("PATCH", "/api/v1/admin/users/" + id, body);
          S.toast(A.saved || "Saved");
          later(function () { location.reload(); });
        } else {
          body.username = v("username");
          if (v("password")) body.password = userForm.elements.password.value;
          var created = await S.api("POST", "/api/v1/admin/users", body);
          S.toast(A.created || "Created");
          if (created.temporary_password) {
            userForm.reset(); showSecret(created.temporary_password, "/admin/users/" + created.id);
          } else {
            later(function () { location.href = "/admin/users/" + created.id; });
          }
        }
      } catch (e) { fail(userForm, e); } finally { S.busy(userForm, false); }
    });
  }

  var resetBtn = document.getElementById("reset-password");
  if (resetBtn && userForm) {
    resetBtn.addEventListener("click", async function () {
      var card = document.getElementById("password-card");
      errorBox(card, ""); resetBtn.disabled = true;
      try {
        var out = await S.api("POST", "/api/v1/admin/users/" + userForm.dataset.user + "/password-reset");
        showSecret(out.temporary_password, null);
      } catch (e) { fail(card, e); } finally { resetBtn.disabled = false; }
    });
  }

  async function handOver(userId, select) {
    if (!select || !select.value) return null;
    return S.api("POST", "/api/v1/admin/users/" + userId + "/reassign", { to_user_id: select.value });
  }
  function reassignedToast(out) {
    if (out) S.toast(fill(A.reassigned, { c: out.customers, o: out.opportunities }));
  }

  var disableCard = document.getElementById("disable-card");
  if (disableCard && userForm) {
    var confirmBox = document.getElementById("disable-confirm"), start = document.getElementById("disable-start");
    start.addEventListener("click", function () { confirmBox.hidden = false; start.hidden = true; (confirmBox.querySelector("select, .btn.danger")).focus(); });
    document.getElementById("disable-cancel").addEventListener("click", function () { confirmBox.hidden = true; start.hidden = false; start.focus(); });
    document.getElementById("disable-do").addEventListener("click", async function () {
      errorBox(disableCard, ""); S.busy(disableCard, true);
      var id = userForm.dataset.user;
      try {
        reassignedToast(await handOver(id, document.getElementById("disable-reassign")));
        await S.api("POST", "/api/v1/admin/users/" + id + "/disable");
        S.toast(A.disabled || "Disabled");
        later(function () { location.reload(); });
      } catch (e) { fail(disableCard, e); S.busy(disableCard, false); }
    });
  }

  var enableBtn = document.getElementById("enable-user");
  if (enableBtn && userForm) {
    enableBtn.addEventListener("click", async function () {
      var card = document.getElementById("enable-card");
      errorBox(card, ""); enableBtn.disabled = true;
      try {
        await S.api("POST", "/api/v1/admin/users/" + userForm.dataset.user + "/enable");
        S.toast(A.enabled || "Enabled");
        later(function () { location.reload(); });
      } catch (e) { fail(card, e); enableBtn.disabled = false; }
    });
  }

  var reassignBtn = document.getElementById("reassign-do");
  if (reassignBtn && userForm) {
    reassignBtn.addEventListener("click", async function () {
      var card = document.getElementById("reassign-card"), select = document.getElementById("reassign-only");
      errorBox(card, "");
      if (!select.value) { select.focus(); return; }
      reassignBtn.disabled = true;
      try {
        reassignedToast(await handOver(userForm.dataset.user, select));
        later(function () { location.reload(); });
      } catch (e) { fail(card, e); reassignBtn.disabled = false; }
    });
  }

  // ---- teams: create, rename, set the manager
  document.querySelectorAll("form.team-form").forEach(function (form) {
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault(); errorBox(form, "");
      if (!S.checkFields(form)) return;
      var body = { name: form.elements.name.value.trim(), manager_id: form.elements.manager_id.value || null };
      S.busy(form, true);
      try {
        if (form.dataset.team) await S.api("PATCH", "/api/v1/admin/teams/" + form.dataset.team, body);
        else await S.api("POST", "/api/v1/admin/teams", body);
        S.toast(form.dataset.team ? (A.saved || "Saved") : (A.team_created || "Created"));
        later(function () { location.reload(); });
      } catch (e) { fail(form, e); S.busy(form, false); }
    });
  });

  // ---- import: preview every row, then commit all or nothing
  var importForm = document.getElementById("import-form");
  if (importForm) {
    var fileInput = document.getElementById("import-file"), preview = document.getElementById("import-preview");
    var commitBtn = document.getElementById("import-commit"), chosen = null;
    fileInput.addEventListener("change", function () { preview.hidden = true; chosen = null; });
    importForm.addEventListener("submit", async function (ev) {
      ev.preventDefault(); errorBox(importForm, "");
      var file = fileInput.files && fileInput.files[0];
      if (!file) { errorBox(importForm, A.pick_file); fileInput.focus(); return; }
      S.busy(importForm, true);
      try {
        renderPreview(await upload("/api/v1/admin/users/import/preview", file));
        chosen = file;
      } catch (e) { preview.hidden = true; fail(importForm, e); } finally { S.busy(importForm, false); }
    });
    commitBtn.addEventListener("click", async function () {
      if (!chosen) return;
      errorBox(preview, ""); commitBtn.disabled = true;
      try {
        var result = await upload("/api/v1/admin/users/import", chosen);
        renderResult(result);
        preview.hidden = true; importForm.reset(); chosen = null;
      } catch (e) {
        fail(preview, e);
        if (e.extra && e.extra.errors) markRows(e.extra.errors);
      } finally { commitBtn.disabled = false; }
    });
  }

  function roleNames(roles) { return roles.map(function (r) { return (A.roles && A.roles[r]) || r; }).join("、"); }

  function renderPreview(data) {
    var preview = document.getElementById("import-preview"), table = document.getElementById("import-table");
    var labels = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) { return th.textContent; });
    var tbody = table.querySelector("tbody");
    tbody.textContent = "";
    data.rows.forEach(function (r) {
      var tr = el("tr"); tr.dataset.row = r.row;
      if (r.errors.length) tr.className = "adm-row-bad";
      [String(r.row), r.username, r.display_name, roleNames(r.roles), r.team || "", r.manager || "", r.phone || "",
       r.password_given ? A.password_given : A.password_generated].forEach(function (text, i) {
        var td = el("td", text); td.dataset.label = labels[i]; tr.appendChild(td);
      });
      var check = el("td", null, r.errors.length ? "adm-bad" : "adm-good"); check.dataset.label = labels[8];
      if (r.errors.length) {
        var ul = el("ul", null, "adm-problems");
        r.errors.forEach(function (m) { ul.appendChild(el("li", m)); });
        check.appendChild(ul);
      } else { check.textContent = A.row_fine; }
      tr.appendChild(check);
      tbody.appendChild(tr);
    });
    var fileErrors = document.getElementById("import-file-errors");
    fileErrors.textContent = "";
    var listed = {};
    data.rows.forEach(function (r) { listed[r.row] = true; });
    data.errors.filter(function (e) { return !listed[e.row]; }).forEach(function (e) { fileErrors.appendChild(el("li", e.message)); });
    var bad = {};
    data.errors.forEach(function (e) { bad[e.row] = true; });
    var badCount = Object.keys(bad).length, summary = document.getElementById("import-summary");
    summary.textContent = data.ok ? fill(A.preview_ok, { n: data.rows.length }) : fill(A.preview_bad, { bad: badCount, n: data.rows.length });
    summary.className = data.ok ? "adm-ok" : "adm-summary-bad";
    var teams = document.getElementById("import-teams");
    teams.hidden = !data.new_teams.length;
    teams.textContent = fill(teams.dataset.label, { teams: data.new_teams.join("、") });
    var ignored = document.getElementById("import-ignored");
    ignored.hidden = !data.ignored_columns.length;
    ignored.textContent = fill(ignored.dataset.label, { cols: data.ignored_columns.join(", ") });
    var commitBtn = document.getElementById("import-commit");
    commitBtn.hidden = !data.ok;
    commitBtn.textContent = fill(commitBtn.dataset.label, { n: data.rows.length });
    errorBox(preview, "");
    preview.hidden = false;
    preview.scrollIntoView({ block: "start" });
  }

  function markRows(errors) {
    errors.forEach(function (e) {
      var tr = document.querySelector('#import-table tr[data-row="' + e.row + '"]');
      if (tr) tr.className = "adm-row-bad";
    });
  }

  function renderResult(result) {
    var box = document.getElementById("import-result");
    document.getElementById("import-result-summary").textContent = fill(A.imported, { n: result.created });
    var withPasswords = result.users.filter(function (u) { return u.temporary_password; });
    var wrap = document.getElementById("import-passwords"), tbody = wrap.querySelector("tbody");
    var labels = Array.prototype.map.call(wrap.querySelectorAll("thead th"), function (th) { return th.textContent; });
    tbody.textContent = "";
    withPasswords.forEach(function (u) {
      var tr = el("tr");
      [u.username, u.display_name, u.temporary_password].forEach(function (text, i) {
        var td = el("td", null); td.dataset.label = labels[i];
        td.appendChild(i === 2 ? el("code", text) : document.createTextNode(text)); tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    wrap.hidden = !withPasswords.length;
    box.hidden = false;
    box.scrollIntoView({ block: "start" });
  }

  // ---- one's own password
  var pwForm = document.getElementById("password-form");
  if (pwForm) {
    pwForm.addEventListener("submit", async function (ev) {
      ev.preventDefault(); errorBox(pwForm, "");
      if (!S.checkFields(pwForm)) return;
      if (pwForm.elements["new"].value !== pwForm.elements.again.value) {
        errorBox(pwForm, A.password_mismatch); pwForm.elements.again.focus(); return;
      }
      S.busy(pwForm, true);
      try {
        await S.api("POST", "/api/v1/me/password", { current: pwForm.elements.current.value, "new": pwForm.elements["new"].value });
        S.toast(A.changed || "Changed");
        later(function () { location.href = pwForm.dataset.next || "/customers"; });
      } catch (e) { fail(pwForm, e); S.busy(pwForm, false); }
    });
  }
})();
