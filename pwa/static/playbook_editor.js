// The playbook editor (/admin/playbook/drafts/{id}): forms built from the playbook's JSON Schema, so
// every part of the process (stages, substates, nodes with their roles, materials, deadlines,
// escalation and gates, products, kinds, templates, thresholds) is edited without touching the file.
// Each change is saved to the draft (debounced) and answered with its review: the problems
// `salesgate playbook check` would list, the diff against the active version and what publishing
// would change for open opportunities. Nothing typed is lost: an invalid draft is saved as it is.
(function () {
  "use strict";
  var S = window.salesgate;
  var root = document.getElementById("pb-editor");
  if (!S || !root) return;
  function json(id) { try { return JSON.parse(document.getElementById(id).textContent); } catch (e) { return null; } }
  var schema = json("pb-schema"), doc = json("pb-document"), L = json("pb-i18n") || {};
  var draftId = root.getAttribute("data-draft"), activeNumber = parseInt(root.getAttribute("data-active"), 10) || null;
  var defs = schema.$defs, lastReview = null, timer = null, saving = null, dirty = false;
  // A draft whose text is not a YAML mapping (a broken file imported) cannot be a form: it is shown with its
  // problems and left as it is, never overwritten by an empty form.
  var unreadable = !doc || typeof doc !== "object" || Array.isArray(doc);

  function t(key) { return L[key] || key; }
  function fill(text, values) {
    return String(text || "").replace(/\{(\w+)\}/g, function (_, k) { return values[k] === undefined ? "" : values[k]; });
  }
  function label(name) { return (L.props && L.props[name]) || name; }
  function el(tag, attrs, kids) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "cls") node.className = attrs[k];
      else if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) node.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function resolve(s) { while (s && s.$ref) s = defs[s.$ref.split("/").pop()]; return s || {}; }
  function optional(s) {  // anyOf [X, null] → X
    if (!s.anyOf) return null;
    var other = s.anyOf.filter(function (x) { return x.type !== "null"; });
    return other.length === 1 && other.length < s.anyOf.length ? other[0] : null;
  }
  function clone(v) { return v === undefined ? undefined : JSON.parse(JSON.stringify(v)); }
  function blank(s) {  // a new value that satisfies the schema's shape (the admin fills it in)
    s = resolve(s);
    if (optional(s)) return null;
    if (s.enum) return s.enum[0];
    if (s.type === "object" && s.properties) {
      var out = {};
      (s.required || []).forEach(function (k) { out[k] = blank(s.properties[k]); });
      return out;
    }
    if (s.type === "object") return {};
    if (s.type === "array") return [];
    if (s.type === "boolean") return false;
    if (s.type === "integer" || s.type === "number") return s.minimum !== undefined ? s.minimum : (s.exclusiveMinimum !== undefined ? 1 : 0);
    return "";
  }
  var uid = 0;
  function nextId() { uid += 1; return "pb-f" + uid; }

  // ---- the form: render(schema, holder, key, path) edits holder[key]
  function changed() { dirty = true; status("pending"); clearTimeout(timer); timer = setTimeout(save, 900); }

  function field(name, s, holder, key, path) {
    var id = nextId(), sch = resolve(s), opt = optional(s);
    var wrap = el("div", { cls: "pb-field", "data-path": path });
    var caption = el("label", { "for": id, text: label(name) });
    if (holder[key] === undefined && s.default !== undefined) holder[key] = clone(s.default);
    if (opt) {
      var inner = resolve(opt);
      if (inner.type === "object" && inner.properties) {  // e.g. deadline: a switch, then its fields
        var box = el("input", { type: "checkbox", id: id });
        box.checked = holder[key] !== null && holder[key] !== undefined;
        var body = el("div", { cls: "pb-sub" });
        var draw = function () {
          body.innerHTML = "";
          if (box.checked) body.appendChild(objectForm(inner, holder[key], path));
        };
        box.addEventListener("change", function () {
          holder[key] = box.checked ? blank(inner) : null;
          draw(); changed();
        });
        draw();
        wrap.appendChild(el("label", { cls: "pb-check", "for": id }, [box, document.createTextNode(" " + label(name))]));
        wrap.appendChild(body);
        return wrap;
      }
      sch = inner;
    }
    wrap.appendChild(caption);
    if (sch.enum || (sch.anyOf && sch.anyOf.every(function (x) { return x.enum; }))) {
      var values = sch.enum || [].concat.apply([], sch.anyOf.map(function (x) { return x.enum; }));
      var select = el("select", { id: id, name: path });
      if (opt) select.appendChild(el("option", { value: "", text: t("none") }));
      values.forEach(function (v) { select.appendChild(el("option", { value: v, text: (L.values && L.values[v]) || v })); });
      select.value = holder[key] === null || holder[key] === undefined ? "" : holder[key];
      select.addEventListener("change", function () { holder[key] = select.value === "" ? null : select.value; changed(); });
      wrap.appendChild(select);
    } else if (sch.type === "boolean") {
      wrap.removeChild(caption);
      var check = el("input", { type: "checkbox", id: id, name: path });
      check.checked = !!holder[key];
      check.addEventListener("change", function () { holder[key] = check.checked; changed(); });
      wrap.appendChild(el("label", { cls: "pb-check", "for": id }, [check, document.createTextNode(" " + label(name))]));
    } else if (sch.type === "integer" || sch.type === "number") {
      var num = el("input", { type: "number", id: id, name: path, inputmode: "decimal", step: sch.type === "integer" ? "1" : "any",
                              min: sch.minimum, max: sch.maximum });
      num.value = holder[key] === null || holder[key] === undefined ? "" : holder[key];
      num.addEventListener("input", function () {
        if (num.value === "") { if (opt) holder[key] = null; else delete holder[key]; }
        else holder[key] = sch.type === "integer" ? parseInt(num.value, 10) : parseFloat(num.value);
        changed();
      });
      wrap.appendChild(num);
    } else if (sch.type === "array" && !resolve(sch.items).properties) {
      var item = resolve(sch.items);
      if (item.enum) {  // e.g. a material's file types: tick boxes
        var set = el("div", { cls: "pb-ticks", role: "group", "aria-label": label(name) });
        var chosen = holder[key] || (holder[key] = []);
        item.enum.forEach(function (v) {
          var bid = nextId(), b = el("input", { type: "checkbox", id: bid, value: v });
          b.checked = chosen.indexOf(v) >= 0;
          b.addEventListener("change", function () {
            holder[key] = item.enum.filter(function (x) {
              return x === v ? b.checked : (holder[key] || []).indexOf(x) >= 0;
            });
            changed();
          });
          set.appendChild(el("label", { cls: "pb-check", "for": bid }, [b, document.createTextNode(" " + v)]));
        });
        wrap.removeChild(caption);
        wrap.appendChild(el("span", { cls: "pb-caption", text: label(name) }));
        wrap.appendChild(set);
      } else {  // lists of keys or relations: comma-separated
        var list = el("input", { id: id, name: path, autocomplete: "off", list: ROLE_FIELDS[name] ? "pb-relations" : null });
        list.value = (holder[key] || []).join(", ");
        list.addEventListener("input", function () {
          holder[key] = list.value.split(/[,，\s]+/).map(function (x) { return x.trim(); }).filter(Boolean);
          changed();
        });
        wrap.appendChild(list);
        wrap.appendChild(el("small", { cls: "muted", text: t("comma_hint") }));
      }
    } else if (sch.type === "array") {
      wrap.removeChild(caption);
      wrap.appendChild(arrayForm(name, sch, holder, key, path));
    } else if (sch.type === "object" && sch.properties) {
      wrap.removeChild(caption);
      if (name === "name" && sch.properties.zh) {  // a bilingual name on one line
        wrap.appendChild(el("span", { cls: "pb-caption", text: label(name) }));
        wrap.appendChild(objectForm(sch, holder[key] || (holder[key] = blank(sch)), path, "pb-pair"));
      } else {
        var group = el("fieldset", { cls: "pb-group" }, [el("legend", { text: label(name) })]);
        group.appendChild(objectForm(sch, holder[key] || (holder[key] = blank(sch)), path));
        wrap.appendChild(group);
      }
    } else if (sch.type === "object") {
      wrap.removeChild(caption);
      wrap.appendChild(mapForm(name, sch, holder, key, path));
    } else {
      var input = el("input", { id: id, name: path, maxlength: sch.maxLength, autocomplete: "off",
                                list: ROLE_FIELDS[name] ? "pb-relations" : null, spellcheck: "false" });
      input.value = holder[key] === null || holder[key] === undefined ? "" : holder[key];
      input.addEventListener("input", function () {
        holder[key] = input.value === "" && opt ? null : input.value;
        changed();
        if (key === "key" || key === "zh") refreshTitles();
      });
      wrap.appendChild(input);
      if (sch.pattern) wrap.appendChild(el("small", { cls: "muted", text: t("key_hint") }));
    }
    return wrap;
  }
  var ROLE_FIELDS = { executor: 1, supervisor: 1, collaborators: 1, notify: 1 };

  function objectForm(s, value, path, cls) {
    var box = el("div", { cls: cls || "pb-object" });
    Object.keys(s.properties).forEach(function (k) {
      box.appendChild(field(k, s.properties[k], value, k, path + "." + k));
    });
    return box;
  }

  function titleOf(item) {
    if (!item || typeof item !== "object") return "";
    var name = item.name && (item.name.zh || item.name.en);
    return (name ? name + " · " : "") + (item.key || "");
  }
  function refreshTitles() {
    root.querySelectorAll("[data-title-of]").forEach(function (node) {
      var item = node.__item;
      if (item) node.textContent = titleOf(item) || t("untitled");
    });
  }

  function arrayForm(name, s, holder, key, path) {
    var itemSchema = resolve(s.items);
    var box = el("fieldset", { cls: "pb-list" }, [el("legend", { text: label(name) })]);
    var items = el("div");
    box.appendChild(items);
    function draw() {
      items.innerHTML = "";
      var arr = holder[key] || (holder[key] = []);
      arr.forEach(function (item, i) {
        var p = path + "[" + i + "]";
        var title = el("span", { cls: "pb-title", "data-title-of": "1", text: titleOf(item) || t("untitled") });
        title.__item = item;
        var det = el("details", { cls: "pb-item", "data-path": p }, [el("summary", {}, [title])]);
        var tools = el("div", { cls: "pb-tools" });
        [["up", "↑", i > 0], ["down", "↓", i < arr.length - 1], ["remove", t("remove"), true]].forEach(function (b) {
          if (!b[2]) return;
          var btn = el("button", { type: "button", cls: "btn small" + (b[0] === "remove" ? " danger" : ""), text: b[1],
                                   "aria-label": t(b[0]) + " " + (titleOf(item) || "") });
          btn.addEventListener("click", function () {
            if (b[0] === "remove") {
              if (!window.confirm(fill(t("confirm_remove"), { name: titleOf(item) || t("untitled") }))) return;
              arr.splice(i, 1);
            } else {
              var j = b[0] === "up" ? i - 1 : i + 1, tmp = arr[j];
              arr[j] = arr[i]; arr[i] = tmp;
            }
            draw(); changed();
          });
          tools.appendChild(btn);
        });
        det.addEventListener("toggle", function () {  // build an item's form when it is opened
          if (det.open && !det.__built) { det.__built = true; det.insertBefore(objectForm(itemSchema, item, p), tools); }
        });
        det.appendChild(tools);
        items.appendChild(det);
      });
    }
    draw();
    var add = el("button", { type: "button", cls: "btn small pb-add", text: "+ " + fill(t("add"), { what: label(name) }) });
    add.addEventListener("click", function () {
      var arr = holder[key] || (holder[key] = []);
      arr.push(blank(itemSchema));
      draw(); changed();
      var last = items.lastElementChild;
      if (last) { last.open = true; var first = last.querySelector("input, select"); if (first) first.focus(); }
    });
    box.appendChild(add);
    return box;
  }

  function mapForm(name, s, holder, key, path) {  // e.g. substate names: key → bilingual name
    var valueSchema = resolve(s.additionalProperties);
    var box = el("fieldset", { cls: "pb-list" }, [el("legend", { text: label(name) })]);
    var rows = el("div");
    box.appendChild(rows);
    function draw() {
      rows.innerHTML = "";
      var map = holder[key] || (holder[key] = {});
      Object.keys(map).forEach(function (k) {
        var row = el("div", { cls: "pb-map-row", "data-path": path + "." + k });
        var keyInput = el("input", { "aria-label": t("key"), value: k, spellcheck: "false" });
        keyInput.addEventListener("change", function () {
          var nk = keyInput.value.trim();
          if (!nk || nk === k || map[nk] !== undefined) { keyInput.value = k; return; }
          var rebuilt = {};
          Object.keys(map).forEach(function (x) { rebuilt[x === k ? nk : x] = map[x]; });
          holder[key] = rebuilt; draw(); changed();
        });
        row.appendChild(keyInput);
        row.appendChild(objectForm(valueSchema, map[k], path + "." + k, "pb-pair"));
        var del = el("button", { type: "button", cls: "btn small danger", text: t("remove") });
        del.addEventListener("click", function () { delete map[k]; draw(); changed(); });
        row.appendChild(del);
        rows.appendChild(row);
      });
    }
    draw();
    var add = el("button", { type: "button", cls: "btn small pb-add", text: "+ " + t("add_entry") });
    add.addEventListener("click", function () {
      var map = holder[key] || (holder[key] = {}), n = 1;
      while (map["new_" + n] !== undefined) n += 1;
      map["new_" + n] = blank(valueSchema);
      draw(); changed();
    });
    box.appendChild(add);
    return box;
  }

  // ---- saving and the review
  var statusBox = document.getElementById("pb-status");
  function status(kind, extra) {
    statusBox.textContent = fill(t("status_" + kind), extra || {});
    statusBox.className = "pb-status pb-" + kind;
  }

  async function save() {
    if (saving) { await saving; }
    if (!dirty) return lastReview;
    dirty = false;
    status("saving");
    saving = S.api("PUT", "/api/v1/admin/playbook/drafts/" + draftId, { document: doc }).then(function (draft) {
      showReview(draft.review);
      return draft.review;
    }, function (err) {
      dirty = true;
      status("failed", { why: err.message });
      return null;
    });
    var out = await saving;
    saving = null;
    return out;
  }

  function stageName(key) {
    var st = (doc.stages || []).filter(function (s) { return s.key === key; })[0];
    return st && st.name ? (st.name.zh || st.name.en || key) : key;
  }
  function itemName(stage, node, item) {
    var st = (doc.stages || []).filter(function (s) { return s.key === stage; })[0];
    var nd = st && (st.nodes || []).filter(function (n) { return node === null || n.key === node; });
    var m = null;
    (nd || []).forEach(function (n) { m = m || (n.materials || []).filter(function (x) { return x.key === item; })[0]; });
    if (m && m.name) return m.name.zh || m.name.en || item;
    var f = (doc.fields || []).filter(function (x) { return x.key === item; })[0];
    if (f && f.name) return f.name.zh || f.name.en || item;
    return (L.values && L.values[item]) || item;
  }
  function nodeName(node) {
    for (var i = 0; i < (doc.stages || []).length; i++) {
      var nd = (doc.stages[i].nodes || []).filter(function (n) { return n.key === node; })[0];
      if (nd && nd.name) return nd.name.zh || nd.name.en || node;
    }
    return node;
  }

  function short(v) {
    if (v === null || v === undefined) return "—";
    if (typeof v === "object") return (v.name && (v.name.zh || v.name.en)) || v.key || JSON.stringify(v).slice(0, 80);
    return String(v);
  }

  // stages[signed].nodes[contract_scan].materials[x] → 阶段 签约 › 节点 合同扫描件 › 必备材料 x
  function humanPath(path) {
    var stage = null;
    return path.split(".").map(function (part) {
      var m = /^(\w+)(?:\[([^\]]+)\])?$/.exec(part);
      if (!m) return part;
      var what = label(m[1]), key = m[2];
      if (!key) return what;
      var name = key;
      if (m[1] === "stages") { stage = key; name = stageName(key); }
      else if (m[1] === "nodes") name = nodeName(key);
      else if (m[1] === "materials" || m[1] === "fields") name = itemName(stage, null, key);
      return what + " " + name;
    }).join(" › ");
  }

  function showReview(review) {
    lastReview = review;
    root.querySelectorAll("[aria-invalid]").forEach(function (n) { n.removeAttribute("aria-invalid"); });
    root.querySelectorAll(".pb-problem-mark").forEach(function (n) { n.classList.remove("pb-problem-mark"); });
    var problems = document.getElementById("pb-problems"), changes = document.getElementById("pb-changes"),
        impact = document.getElementById("pb-impact"), publish = document.getElementById("pb-publish");
    problems.innerHTML = ""; changes.innerHTML = ""; impact.innerHTML = "";
    if (!review.valid) {
      status("invalid", { n: review.problems.length });
      review.problems.forEach(function (p) {
        var item = el("li", {}, [el("strong", { cls: "pb-where", title: p.path, text: humanPath(p.path.replace(/^\$\.?/, "")) || p.path }),
                                 document.createTextNode((p.line ? " (" + fill(t("line"), { n: p.line }) + ")" : "") + ": " + p.message)]);
        var hit = deepest(p.path);
        if (hit) {
          hit.classList.add("pb-problem-mark");
          var go = el("button", { type: "button", cls: "btn small", text: t("show") });
          go.addEventListener("click", function () { reveal(p.path); });
          item.appendChild(go);
        }
        problems.appendChild(item);
      });
    } else {
      status("saved");
    }
    document.getElementById("pb-problems-box").hidden = review.valid;
    (review.changes || []).forEach(function (c) {
      var text = c.kind === "changed" ? short(c.before) + " → " + short(c.after)
        : c.kind === "added" ? short(c.after) : c.kind === "removed" ? short(c.before) : (c.after || []).join(" → ");
      var where = humanPath(c.path);
      if (where.slice(-text.length) === text) text = "";
      changes.appendChild(el("li", { cls: "pb-change pb-" + c.kind }, [
        el("span", { cls: "badge", text: t("kind_" + c.kind) }), el("span", { cls: "pb-where", title: c.path, text: where }),
        el("span", { text: text ? ": " + text : "" })]));
    });
    if (!(review.changes || []).length) changes.appendChild(el("li", { cls: "muted", text: review.valid ? t("no_changes") : t("fix_first") }));
    (review.impact || []).forEach(function (line) {
      var text = fill(t("impact_" + line.kind), {
        n: line.count, stage: stageName(line.stage) + (line.substate ? " / " + ((L.values && L.values[line.substate]) || line.substate) : ""),
        node: line.node ? nodeName(line.node) : "", item: line.item ? itemName(line.stage, line.node, line.item) : "" });
      var li = el("li", { cls: "pb-impact pb-" + line.kind }, [el("strong", { text: text })]);
      if (line.opportunities && line.opportunities.length) {
        var det = el("details", {}, [el("summary", { text: t("which") })]);
        var ul = el("ul", { cls: "pb-opps" });
        line.opportunities.forEach(function (o) {
          ul.appendChild(el("li", {}, [el("a", { href: "/opportunities/" + o.id, text: o.title || o.id, target: "_blank", rel: "noopener" })]));
        });
        det.appendChild(ul); li.appendChild(det);
      }
      impact.appendChild(li);
    });
    if (!(review.impact || []).length) impact.appendChild(el("li", { cls: "muted", text: review.valid ? t("no_impact") : t("fix_first") }));
    var blocked = !review.valid || review.stranded > 0 || !(review.changes || []).length;
    publish.disabled = blocked;
    document.getElementById("pb-publish-why").textContent = !review.valid ? t("why_invalid")
      : review.stranded > 0 ? fill(t("why_stranded"), { n: review.stranded })
      : !(review.changes || []).length ? t("why_nothing") : "";
  }

  function deepest(path) {  // the element of a path, or of the nearest part of it that is on the page
    var p = path;
    while (p) {
      var hit = root.querySelector('[data-path="' + p.replace(/"/g, '\\"') + '"]');
      if (hit) return hit;
      var cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
      if (cut <= 0) return null;
      p = p.slice(0, cut);
    }
    return null;
  }
  function reveal(path) {  // open the items on the way (their forms are built when opened), then focus
    var node = null;
    for (var i = 0; i < 12; i++) {
      node = deepest(path);
      if (!node) return;
      var closed = null, up = node;
      while (up && up !== root) { if (up.tagName === "DETAILS" && !up.open) closed = up; up = up.parentElement; }
      if (node.tagName === "DETAILS" && !node.open) closed = node;
      if (!closed) break;
      closed.open = true; closed.dispatchEvent(new Event("toggle"));
    }
    node.scrollIntoView({ block: "center" });
    var input = node.querySelector("input, select");
    if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
  }

  document.getElementById("pb-save").addEventListener("click", function () { dirty = true; clearTimeout(timer); save(); });
  document.getElementById("pb-publish").addEventListener("click", async function () {
    var btn = this;
    clearTimeout(timer);
    var review = await save();
    if (!review || !review.valid || review.stranded > 0) return;
    if (!window.confirm(t("confirm_publish"))) return;
    btn.disabled = true;
    try {
      var out = await S.api("POST", "/api/v1/admin/playbook/drafts/" + draftId + "/publish",
                            { note: document.getElementById("pb-note").value || null, expected_active: activeNumber });
      S.toast(fill(t("published"), { n: out.active }));
      setTimeout(function () { location.href = "/admin/playbook"; }, 600);
    } catch (err) {
      btn.disabled = false;
      status("failed", { why: err.message });
      if (err.code === "playbook_changed") S.toast(t("err_playbook_changed"));
    }
  });
  window.addEventListener("beforeunload", function (e) { if (dirty || saving) { e.preventDefault(); e.returnValue = ""; } });

  var form = document.getElementById("pb-form");
  form.addEventListener("submit", function (e) { e.preventDefault(); save(); });
  var initial = json("pb-review");
  if (unreadable) {
    form.appendChild(el("p", { cls: "adm-notice", text: t("unreadable") }));
    if (initial) showReview(initial);
    status("invalid", { n: initial ? initial.problems.length : 1 });
    document.getElementById("pb-save").disabled = true;
    return;
  }
  form.appendChild(objectForm(resolve(schema), doc, "$"));
  if (initial) showReview(initial); else { dirty = true; save(); }
})();

// The versions page (/admin/playbook): start a draft, import a file, restore a version, delete a draft.
(function () {
  "use strict";
  var S = window.salesgate;
  var page = document.getElementById("pb-versions");
  if (!S || !page) return;
  var L = {};
  try { L = JSON.parse(document.getElementById("pb-i18n").textContent); } catch (e) { L = {}; }
  var active = parseInt(page.getAttribute("data-active"), 10) || null;
  function t(key) { return L[key] || key; }
  function fail(err) { S.toast(err.message || t("failed")); }

  page.addEventListener("click", async function (e) {
    var btn = e.target.closest("button[data-action]");
    if (!btn) return;
    var action = btn.getAttribute("data-action"), n = btn.getAttribute("data-number"), id = btn.getAttribute("data-draft");
    btn.disabled = true;
    try {
      if (action === "draft") {
        var draft = await S.api("POST", "/api/v1/admin/playbook/drafts", n ? { from_version: parseInt(n, 10) } : {});
        location.href = "/admin/playbook/drafts/" + draft.id;
        return;
      }
      if (action === "restore") {
        if (!window.confirm(t("confirm_restore").replace("{n}", n))) { btn.disabled = false; return; }
        var out = await S.api("POST", "/api/v1/admin/playbook/versions/" + n + "/restore", { expected_active: active });
        S.toast(t("published").replace("{n}", out.active));
        setTimeout(function () { location.reload(); }, 600);
        return;
      }
      if (action === "delete") {
        if (!window.confirm(t("confirm_delete"))) { btn.disabled = false; return; }
        await S.api("DELETE", "/api/v1/admin/playbook/drafts/" + id);
        location.reload();
        return;
      }
    } catch (err) { btn.disabled = false; fail(err); }
  });

  var form = document.getElementById("pb-import");
  if (form) form.addEventListener("submit", async function (e) {
    e.preventDefault();
    var file = form.elements.file.files[0];
    if (!file) { S.toast(t("pick_file")); return; }
    var body = new FormData();
    body.append("file", file);
    var headers = { "Accept": "application/json" }, csrf = S.cookie("sg_csrf");
    if (csrf) headers["X-CSRF-Token"] = csrf;
    try {
      var resp = await fetch("/api/v1/admin/playbook/drafts/import", { method: "POST", body: body, headers: headers, credentials: "same-origin" });
      var data = await resp.json().catch(function () { return null; });
      if (!resp.ok) { S.toast((data && data.detail) || t("failed")); return; }
      location.href = "/admin/playbook/drafts/" + data.id;
    } catch (err) { fail(err); }
  });
})();
