// The inbox page: relative times, tap an item (marked read, then its page opens), mark all read,
// load older items. The list itself is rendered by the server (templates/inbox.html).
(function () {
  "use strict";
  var sg = window.salesgate;
  var list = document.getElementById("inbox-list");
  if (!sg || !list) return;  // empty inbox: nothing to do
  var S = JSON.parse(document.getElementById("inbox-i18n").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var MARK_WAIT_MS = 1500;
  var lang = document.documentElement.lang || undefined;
  var relative = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(lang, { numeric: "auto" }) : null;
  var dateTime = new Intl.DateTimeFormat(lang, { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });

  // "3 分钟前", "昨天", "5 天前"; older than a week: the date and time.
  function when(date) {
    var seconds = (date.getTime() - Date.now()) / 1000, abs = Math.abs(seconds);
    if (!relative || abs >= 7 * 86400) return dateTime.format(date);
    if (abs < 60) return relative.format(0, "second");
    if (abs < 3600) return relative.format(Math.round(seconds / 60), "minute");
    if (abs < 86400) return relative.format(Math.round(seconds / 3600), "hour");
    return relative.format(Math.round(seconds / 86400), "day");
  }

  function renderTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date)) return;
      el.textContent = when(date);
      el.title = dateTime.format(date);
    });
  }

  function setUnread(n) {
    list.dataset.unread = String(n);
    $("inbox-summary").textContent = n ? S.unread_count.replace("{n}", n) : S.all_read;
    $("read-all").hidden = n === 0;
    if (window.SalesgateAlerts) window.SalesgateAlerts.show(n);
  }

  function markShown(li) {
    li.classList.remove("unread");
    var hidden = li.querySelector(".unread-text");
    if (hidden) hidden.remove();
  }

  function showError(message) {
    var box = $("inbox-error");
    box.textContent = message || ""; box.hidden = !message;
  }

  function wait(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  // Tapping an unread item marks it read first (briefly waited for, so the next page's bell is
  // right), then follows the link; a slow network never holds the user back longer than that.
  list.addEventListener("click", function (ev) {
    var link = ev.target.closest(".inbox-link");
    if (!link || ev.defaultPrevented || ev.button > 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey) return;
    var li = link.closest(".inbox-item");
    if (!li.classList.contains("unread")) return;  // already read: a plain link
    ev.preventDefault();
    markShown(li);
    var marked = sg.api("POST", "/api/v1/inbox/" + encodeURIComponent(li.dataset.id) + "/read")
      .then(function (data) { setUnread(data.unread); })
      .catch(function () { /* the next visit shows it unread again */ });
    var target = new URL(link.href, location.href);
    var here = target.pathname + target.search === location.pathname + location.search;
    Promise.race([marked, wait(MARK_WAIT_MS)]).then(function () { if (!here) location.href = link.href; });
  });

  var readAll = $("read-all");
  readAll.addEventListener("click", async function () {
    readAll.disabled = true; showError("");
    try {
      var data = await sg.api("POST", "/api/v1/inbox/read-all");
      list.querySelectorAll(".inbox-item.unread").forEach(markShown);
      setUnread(data.unread);
    } catch (e) { showError(e.message); } finally { readAll.disabled = false; }
  });

  function row(item) {
    var li = $("inbox-item-template").content.firstElementChild.cloneNode(true);
    li.dataset.id = item.id;
    var link = li.querySelector(".inbox-link");
    link.href = item.url;
    li.querySelector(".inbox-title").textContent = item.title;
    li.querySelector(".inbox-body").textContent = item.body;
    li.querySelector(".inbox-time").setAttribute("datetime", item.created_at);
    var tags = li.querySelector(".inbox-tags");
    if (!item.read) {
      li.classList.add("unread");
      var hidden = document.createElement("span");
      hidden.className = "visually-hidden unread-text"; hidden.textContent = S.unread;
      tags.appendChild(hidden);
    }
    if (item.closed) {
      li.classList.add("closed");
      var tag = document.createElement("span");
      tag.className = "tag-resolved"; tag.textContent = S.resolved;
      tags.appendChild(tag);
    }
    return li;
  }

  var more = $("load-more");
  if (more) {
    more.addEventListener("click", async function () {
      more.disabled = true; showError("");
      try {
        var data = await sg.api("GET", "/api/v1/inbox?before=" + encodeURIComponent(more.dataset.next));
        var added = document.createDocumentFragment();
        data.items.forEach(function (item) { added.appendChild(row(item)); });
        renderTimes(added);
        list.appendChild(added);
        setUnread(data.unread);
        if (data.next) more.dataset.next = data.next; else more.remove();
      } catch (e) { showError(e.message); } finally { more.disabled = false; }
    });
  }

  // The bell's own count (fetched by alerts.js) may be newer than the page: keep the summary in step.
  document.addEventListener("salesgate:unread", function (ev) {
    var n = ev.detail.unread;
    if (String(n) === list.dataset.unread) return;
    list.dataset.unread = String(n);
    $("inbox-summary").textContent = n ? S.unread_count.replace("{n}", n) : S.all_read;
    $("read-all").hidden = n === 0;
  });

  renderTimes(list);
  setInterval(function () { renderTimes(list); }, 60000);
})();
