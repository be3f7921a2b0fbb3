/* sessionbook slot picker: free times week by week, in the customer's time zone.
 * Times travel as UTC instants; only this file turns them into local days and clock times,
 * with Intl, in the zone chosen in the select (detected from the browser at first). */
(function () {
  "use strict";

  function zoneParts(instant, zone) {
    var parts = {};
    new Intl.DateTimeFormat("en-GB", { timeZone: zone, year: "numeric", month: "2-digit",
                                       day: "2-digit" })
      .formatToParts(instant).forEach(function (part) { parts[part.type] = part.value; });
    return parts.year + "-" + parts.month + "-" + parts.day;
  }

  function addDays(day, count) {
    var pieces = day.split("-").map(Number);
    return new Date(Date.UTC(pieces[0], pieces[1] - 1, pieces[2] + count)).toISOString().slice(0, 10);
  }

  function dayLabel(day, options) {
    // Noon UTC of a calendar day is that same day when shown in UTC: no zone can shift it.
    return new Intl.DateTimeFormat(undefined, Object.assign({ timeZone: "UTC" }, options))
      .format(new Date(day + "T12:00:00Z"));
  }

  function detectedZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { return "UTC"; }
  }

  function chooseZone(select, preferred) {
    if (!preferred) { return; }
    var known = Array.prototype.some.call(select.options, function (option) { return option.value === preferred; });
    if (!known) {
      var option = document.createElement("option");
      option.value = preferred;
      option.textContent = preferred.replace(/_/g, " ");
      select.insertBefore(option, select.firstChild);
    }
    select.value = preferred;
  }

  // Here a provider outage can only be the calendar's, so say so.
  function pickerMessage(error) {
    if (error.code === "provider_unavailable") {
      return "The calendar isn't answering right now. Nothing was lost; please try again in a moment.";
    }
    return window.SessionBook.messageFor(error);
  }

  function SlotPicker(root) {
    var SB = window.SessionBook;
    var mode = root.getAttribute("data-mode");
    var maxWeeks = Number(root.getAttribute("data-max-weeks")) || 12;
    var zoneSelect = root.querySelector("[data-timezone]");
    var weekLabel = root.querySelector("[data-week-label]");
    var prev = root.querySelector("[data-week-prev]");
    var next = root.querySelector("[data-week-next]");
    var message = root.querySelector("[data-picker-message]");
    var days = root.querySelector("[data-slot-days]");
    var form = root.querySelector("[data-slot-form]");
    var confirmButton = root.querySelector("[data-confirm]");
    var selectionText = root.querySelector("[data-selection-text]");
    var confirmRow = root.querySelector(".confirm-row");
    var radioName = "slot-" + mode;
    var week = 0;
    var loadNumber = 0;
    var busy = false;

    root.querySelector("[data-picker-controls]").hidden = false;
    chooseZone(zoneSelect, root.getAttribute("data-initial-zone") || detectedZone());

    function zone() { return zoneSelect.value; }

    function setNavigation() {
      var focused = document.activeElement;
      prev.disabled = week <= 0;
      next.disabled = week >= maxWeeks - 1;
      if (focused === prev && prev.disabled) { next.focus(); }
      if (focused === next && next.disabled) { prev.focus(); }
    }

    async function load(keepMessage) {
      var mine = ++loadNumber;
      var first = addDays(zoneParts(new Date(), zone()), week * 7);
      var last = addDays(first, 6);
      weekLabel.textContent = dayLabel(first, { weekday: "short", day: "numeric", month: "short" }) +
        " – " + dayLabel(last, { weekday: "short", day: "numeric", month: "short" });
      setNavigation();
      if (!keepMessage) { SB.hideMessage(message); }
      days.setAttribute("aria-busy", "true");
      var query = new URLSearchParams({ start: first, end: last, timezone: zone() });
      try {
        var answer = await SB.api("GET", "/book/api/slots?" + query.toString());
        if (mine === loadNumber) { render(answer.slots, first, last); }
      } catch (error) {
        if (mine !== loadNumber) { return; }
        days.textContent = "";
        confirmRow.hidden = true;
        SB.showMessage(message, pickerMessage(error), SB.actionsFor(error, function () { load(false); }));
      } finally {
        if (mine === loadNumber) { days.setAttribute("aria-busy", "false"); }
      }
    }

    // When moving a session: its present start, so the picker can mark it among the free times.
    function currentStart() {
      var sessionPanel = root.closest("[data-session-panel]");
      return (sessionPanel && sessionPanel.getAttribute("data-session-start")) ||
        root.getAttribute("data-current-start") || "";
    }

    // The free times plus, in its week, the session's present time (not free: it is ours).
    function withCurrent(slots, first, last) {
      var current = currentStart();
      if (!current) { return slots; }
      var day = zoneParts(new Date(current), zone());
      var listed = slots.some(function (slot) { return Date.parse(slot.start) === Date.parse(current); });
      if (listed || day < first || day > last) { return slots; }
      return slots.concat([{ start: current, current: true }]).sort(function (a, b) {
        return Date.parse(a.start) - Date.parse(b.start);
      });
    }

    function render(freeSlots, first, last) {
      var previouslyChosen = form.querySelector('input[name="' + radioName + '"]:checked');
      var chosenValue = previouslyChosen ? previouslyChosen.value : null;
      var slots = withCurrent(freeSlots, first, last);
      days.textContent = "";
      confirmRow.hidden = !freeSlots.length;
      if (!slots.length) {
        var empty = document.createElement("p");
        empty.className = "empty";
        empty.setAttribute("data-testid", "no-slots");
        empty.textContent = week < maxWeeks - 1
          ? "No free times in this week. Try a later week."
          : "No free times in this week.";
        days.appendChild(empty);
        describeSelection();
        return;
      }
      var timeFormat = new Intl.DateTimeFormat(undefined, SB.clockOptions(zone()));
      var groups = [];
      slots.forEach(function (slot) {
        var key = zoneParts(new Date(slot.start), zone());
        if (!groups.length || groups[groups.length - 1].key !== key) { groups.push({ key: key, slots: [] }); }
        groups[groups.length - 1].slots.push(slot);
      });
      groups.forEach(function (group) {
        var fieldset = document.createElement("fieldset");
        fieldset.className = "day";
        var legend = document.createElement("legend");
        legend.textContent = dayLabel(group.key, { weekday: "long", day: "numeric", month: "long" });
        fieldset.appendChild(legend);
        var grid = document.createElement("div");
        grid.className = "slot-grid";
        group.slots.forEach(function (slot) {
          var label = document.createElement("label");
          label.className = slot.current ? "slot current" : "slot";
          var input = document.createElement("input");
          input.type = "radio";
          input.name = radioName;
          input.value = slot.start;
          if (slot.current) {
            input.disabled = true;
          } else {
            input.setAttribute("data-end", slot.end);
            input.checked = slot.start === chosenValue;
          }
          var face = document.createElement("span");
          face.className = "slot-face";
          var time = document.createElement("span");
          time.className = "slot-time";
          time.textContent = timeFormat.format(new Date(slot.start));
          face.appendChild(time);
          if (slot.current) {
            var note = document.createElement("span");
            note.className = "slot-note";
            note.textContent = "current";
            face.appendChild(note);
          }
          label.appendChild(input);
          label.appendChild(face);
          grid.appendChild(label);
        });
        fieldset.appendChild(grid);
        days.appendChild(fieldset);
      });
      describeSelection();
    }

    function chosen() { return form.querySelector('input[name="' + radioName + '"]:checked'); }

    function describeSelection() {
      var input = chosen();
      if (!input) { selectionText.textContent = ""; return; }
      var options = Object.assign({ weekday: "long", day: "numeric", month: "long" }, SB.clockOptions(zone()));
      selectionText.textContent = "Chosen: " + new Intl.DateTimeFormat(undefined, options).format(new Date(input.value));
    }

    async function confirm() {
      var input = chosen();
      if (!input) {
        SB.showMessage(message, "Please choose a time first.", []);
        var firstSlot = form.querySelector('input[name="' + radioName + '"]');
        if (firstSlot) { firstSlot.focus(); }
        return;
      }
      busy = true;
      confirmButton.setAttribute("aria-disabled", "true");
      SB.hideMessage(message);
      try {
        var body = { startTime: input.value, endTime: input.getAttribute("data-end"), timezone: zone() };
        // In a package of several sessions, the Move panel knows which session it moves.
        var sessionPanel = root.closest("[data-session-panel]");
        if (sessionPanel && sessionPanel.getAttribute("data-session-id")) {
          body.sessionId = sessionPanel.getAttribute("data-session-id");
        }
        await SB.api("POST", "/book/api/" + mode, body);
        if (mode === "reschedule") { SB.sayAfterReload("moved"); }
        selectionText.textContent = "Booked. Loading your confirmation…";
        window.location.reload();
        return;
      } catch (error) {
        SB.showMessage(message, pickerMessage(error), SB.actionsFor(error, confirm));
        if (error.code === "slot_unavailable") { await load(true); }
      } finally {
        busy = false;
        confirmButton.removeAttribute("aria-disabled");
      }
    }

    prev.addEventListener("click", function () { if (week > 0) { week -= 1; load(false); } });
    next.addEventListener("click", function () { if (week < maxWeeks - 1) { week += 1; load(false); } });
    zoneSelect.addEventListener("change", function () { load(false); });
    form.addEventListener("change", function () {
      describeSelection();
      // A time is chosen now: "Please choose a time first" (or an older error) no longer applies.
      if (chosen()) { SB.hideMessage(message); }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!busy) { confirm(); }
    });
    load(false);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-slot-picker]").forEach(function (root) {
      var lazyPanel = root.closest("[data-lazy-picker]");
      if (!lazyPanel) { SlotPicker(root); return; }
      var started = false;
      lazyPanel.addEventListener("panel-open", function () {
        if (!started) { started = true; SlotPicker(root); }
      });
    });
  });
})();
