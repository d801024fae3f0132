// The manager board (templates/board.html): pin a searched customer as a key account, unpin one.
// The page is reloaded after each change, so the account's line is drawn by the server.
(function () {
  "use strict";
  var sg = window.salesgate;
  var section = document.getElementById("accounts");
  if (!sg || !section) return;
  var B = {};
  try { B = JSON.parse(document.getElementById("board-i18n").textContent); } catch (e) { B = {}; }
  var teamId = new URLSearchParams(location.search).get("team_id") ||
    (section.querySelector('input[name="team_id"]') || {}).value;
  var error = document.getElementById("pin-error");

  function fill(text, name) { return (text || "").split("{name}").join(name); }

  function fail(e, button) {
    button.disabled = false;
    error.textContent = e.message;
    error.hidden = false;
  }

  function back() { location.href = "/board?team_id=" + encodeURIComponent(teamId) + "#accounts"; }

  section.addEventListener("click", async function (ev) {
    var pin = ev.target.closest("[data-pin]"), unpin = ev.target.closest("[data-unpin]");
    var button = pin || unpin;
    if (!button) return;
    button.disabled = true;
    error.hidden = true;
    try {
      if (pin) {
        await sg.api("POST", "/api/v1/board/pins", { customer_id: pin.dataset.pin, team_id: teamId });
        sg.toast(fill(B.pinned, pin.dataset.name));
      } else {
        var row = unpin.closest(".ka");
        await sg.api("DELETE", "/api/v1/board/pins/" + encodeURIComponent(unpin.dataset.unpin) +
                     "?team_id=" + encodeURIComponent(teamId));
        sg.toast(fill(B.unpinned, row ? row.dataset.name : ""));
      }
      back();
    } catch (e) {
      fail(e, button);
    }
  });
})();
