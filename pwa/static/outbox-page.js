// The outbox page: what waits on this phone to be sent, and what the server refused ("needs
// fixing", with the server's reason, Edit and Delete). Works offline (the page is cached).
(function () {
  "use strict";
  var sg = window.salesgate, Outbox = window.SalesgateOutbox;
  var S = JSON.parse(document.getElementById("outbox-i18n").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var template = $("item-template");
  var when = new Intl.DateTimeFormat(document.documentElement.lang || undefined,
                                     { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });

  function row(item, session) {
    var li = template.content.firstElementChild.cloneNode(true);
    li.dataset.id = item.id;
    li.querySelector(".outbox-label").textContent = item.label || S.unnamed;
    var kind = S["kind_" + item.kind] || "";
    var meta = S.since.replace("{time}", when.format(new Date(item.created_at)));
    li.querySelector(".outbox-meta").textContent = kind ? kind + " · " + meta : meta;
    var error = li.querySelector(".outbox-error");
    if (item.state === "rejected") {
      error.textContent = sg.errorText(item.error || {});
    } else if (Outbox.foreign(item, session)) {
      error.textContent = S.other_account;
    } else if (item.error && item.error.status === 401) {
      error.textContent = S.login_needed;
    } else {
      error.remove();
    }
    if (Date.now() - item.created_at > Outbox.STALE_MS) li.classList.add("stale");
    var edit = li.querySelector(".outbox-edit");
    if (item.state === "rejected" && item.edit) edit.href = item.edit + "?fix=" + encodeURIComponent(item.id);
    else edit.remove();
    return li;
  }

  async function render() {
    var items = await Outbox.list(), session = await Outbox.getSession();
    var waiting = items.filter(function (x) { return x.state !== "rejected"; });
    var rejected = items.filter(function (x) { return x.state === "rejected"; });
    $("waiting-count").textContent = String(waiting.length);
    $("rejected-count").textContent = String(rejected.length);
    $("waiting-empty").hidden = waiting.length > 0;
    $("send-now").hidden = waiting.length === 0;
    $("rejected-section").hidden = rejected.length === 0;
    $("stale-warning").hidden = !items.some(function (x) { return Date.now() - x.created_at > Outbox.STALE_MS; });
    var wl = $("waiting-list"), rl = $("rejected-list");
    wl.textContent = ""; rl.textContent = "";
    waiting.forEach(function (x) { wl.appendChild(row(x, session)); });
    rejected.forEach(function (x) { rl.appendChild(row(x, session)); });
  }

  document.addEventListener("click", function (ev) {
    var del = ev.target.closest(".outbox-delete");
    if (!del) return;
    if (!window.confirm(S.confirm_delete)) return;
    Outbox.remove(del.closest(".outbox-item").dataset.id).then(render);
  });

  $("send-now").addEventListener("click", async function () {
    var button = $("send-now"), out = $("send-result");
    button.disabled = true;
    try {
      var summary = await Outbox.replay();
      out.textContent = summary.left ? S.still_offline : S.sent.replace("{n}", summary.sent);
      out.hidden = false;
    } finally {
      button.disabled = false;
      render();
    }
  });

  Outbox.onChange(render);
  render();
})();
