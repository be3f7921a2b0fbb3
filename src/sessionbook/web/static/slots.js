/* sessionbook month calendar: days with free times, then the chosen day's times.
 * The server renders the same calendar for pages without script; this file redraws it from the
 * slots API (one call per month and zone, kept for the visit) in the zone of the time-zone field.
 * Every word shown comes from the page (data-t-* attributes, translated on the server); days,
 * months and clock times come from Intl in the page's locale. Keyboard: the WAI-ARIA date grid. */
(function () {
  "use strict";

  var DAY_MS = 86400000;

  function dayOf(instant, zone) {
    var parts = {};
    new Intl.DateTimeFormat("en-GB", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(instant).forEach(function (part) { parts[part.type] = part.value; });
    return parts.year + "-" + parts.month + "-" + parts.day;
  }

  // Calendar days as "YYYY-MM-DD"; noon UTC of a day is that day in UTC, whatever the zone.
  function noon(day) { return new Date(day + "T12:00:00Z"); }
  function addDays(day, count) { return new Date(noon(day).getTime() + count * DAY_MS).toISOString().slice(0, 10); }
  function monthOf(day) { return day.slice(0, 7); }
  function addMonths(month, count) {
    var index = Number(month.slice(0, 4)) * 12 + Number(month.slice(5, 7)) - 1 + count;
    var m = index % 12 + 1;
    return Math.floor(index / 12) + "-" + (m < 10 ? "0" : "") + m;
  }
  function lastOfMonth(month) { return addDays(addMonths(month, 1) + "-01", -1); }
  function mondayIndex(day) { return (noon(day).getUTCDay() + 6) % 7; }
  function clampDay(month, dayNumber) {
    var last = lastOfMonth(month);
    var wanted = month + "-" + (dayNumber < 10 ? "0" : "") + dayNumber;
    return wanted > last ? last : wanted;
  }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) { return name in values ? values[name] : whole; });
  }
  function detectedZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { return "UTC"; }
  }
  function chooseZone(select, preferred) {
    if (!preferred || select.getAttribute("data-zone-set")) { return; }
    select.setAttribute("data-zone-set", "1");
    var known = Array.prototype.some.call(select.options, function (option) { return option.value === preferred; });
    if (!known) {
      var option = document.createElement("option");
      option.value = preferred;
      option.textContent = preferred.replace(/_/g, " ");
      select.insertBefore(option, select.firstChild);
    }
    select.value = preferred;
  }
  function element(tag, className, text) {
    var made = document.createElement(tag);
    if (className) { made.className = className; }
    if (text !== undefined) { made.textContent = text; }
    return made;
  }

  function Calendar(root) {
    var SB = window.SessionBook;
    var mode = root.getAttribute("data-mode");
    var locale = root.getAttribute("data-locale") || undefined;
    var firstWeekday = Number(root.getAttribute("data-first-weekday")) || 0;  // 0 Monday .. 6 Sunday
    var lastDay = root.getAttribute("data-last-day");
    var cutoffMs = Number(root.getAttribute("data-cutoff-hours")) * 3600000;
    var zoneSelect = document.querySelector("[data-timezone]");
    var title = root.querySelector("[data-month-title]");
    var grid = root.querySelector("[data-month-grid]");
    var message = root.querySelector("[data-picker-message]");
    var form = root.querySelector("[data-slot-form]");
    var list = root.querySelector("[data-slot-list]");
    var timesTitle = root.querySelector("[data-times-title]");
    var confirmRow = root.querySelector("[data-confirm-row]");
    var confirmButton = root.querySelector("[data-confirm]");
    var selection = root.querySelector("[data-selection-text]");
    var cutoffWarning = root.querySelector("[data-cutoff-warning]");
    var cutoffLegend = root.querySelector("[data-cutoff-legend]");
    var formZone = root.querySelector("[data-form-zone]");
    var prev = navButton("[data-month-prev]");
    var next = navButton("[data-month-next]");
    var cache = {};
    var loadNumber = 0;
    var busy = false;
    var month = root.getAttribute("data-month");
    var day = root.getAttribute("data-day");
    var focusDay = null;
    var slotsByDay = {};

    function t(key) { return root.getAttribute("data-t-" + key) || ""; }
    function zone() { return zoneSelect ? zoneSelect.value : "UTC"; }
    function today() { return dayOf(new Date(), zone()); }
    function firstMonth() { return monthOf(today()); }
    function lastMonth() { return monthOf(lastDay); }

    // The server's month links become buttons: the script pages without reloading.
    function navButton(selector) {
      var old = root.querySelector(selector);
      var button = element("button", old.className);
      button.type = "button";
      button.innerHTML = old.innerHTML;
      button.setAttribute("data-testid", old.getAttribute("data-testid"));
      old.replaceWith(button);
      return button;
    }

    // When moving a session: its present start, shown among the times but not pickable.
    function currentStart() {
      var panel = root.closest("[data-session-panel]");
      return (panel && panel.getAttribute("data-session-start")) || root.getAttribute("data-current-start") || "";
    }

    function dayText(someDay, long) {
      return new Intl.DateTimeFormat(locale, { timeZone: "UTC", weekday: long ? "long" : "short", day: "numeric", month: "long" })
        .format(noon(someDay));
    }
    function clockText(instant) {
      return new Intl.DateTimeFormat(locale, { timeZone: zone(), hour: "numeric", minute: "2-digit" }).format(instant);
    }

    function pickable(someDay) {
      return Boolean(slotsByDay[someDay]) && someDay >= today() && someDay <= lastDay;
    }

    function monthSlots(wanted) {
      var key = zone() + " " + wanted;
      if (!cache[key]) {
        var query = new URLSearchParams({ start: wanted + "-01", end: lastOfMonth(wanted), timezone: zone() });
        cache[key] = SB.api("GET", "/book/api/slots?" + query.toString()).then(function (answer) { return answer.slots; });
        cache[key].catch(function () { delete cache[key]; });
      }
      return cache[key];
    }

    async function show(wanted, options) {
      var settings = options || {};
      month = wanted < firstMonth() ? firstMonth() : (wanted > lastMonth() ? lastMonth() : wanted);
      var mine = ++loadNumber;
      title.textContent = new Intl.DateTimeFormat(locale, { timeZone: "UTC", month: "long", year: "numeric" })
        .format(noon(month + "-01"));
      prev.disabled = month <= firstMonth();
      next.disabled = month >= lastMonth();
      if (!settings.keepMessage) { SB.hideMessage(message); }
      form.setAttribute("aria-busy", "true");
      var slots;
      try {
        slots = await monthSlots(month);
      } catch (error) {
        if (mine !== loadNumber) { return; }
        form.setAttribute("aria-busy", "false");
        SB.showMessage(message, pickerMessage(error), SB.actionsFor(error, function () { show(month); }));
        return;
      }
      if (mine !== loadNumber) { return; }
      form.setAttribute("aria-busy", "false");
      slotsByDay = {};
      slots.forEach(function (slot) {
        var key = dayOf(new Date(slot.start), zone());
        (slotsByDay[key] = slotsByDay[key] || []).push(slot);
      });
      var current = currentStart();
      if (current) {
        var currentDay = dayOf(new Date(current), zone());
        var listed = (slotsByDay[currentDay] || []).some(function (slot) { return Date.parse(slot.start) === Date.parse(current); });
        if (monthOf(currentDay) === month && !listed) {
          (slotsByDay[currentDay] = slotsByDay[currentDay] || []).push({ start: current, current: true });
          slotsByDay[currentDay].sort(function (a, b) { return Date.parse(a.start) - Date.parse(b.start); });
        }
      }
      var open = Object.keys(slotsByDay).filter(function (key) { return monthOf(key) === month && pickable(key); }).sort();
      if (!day || monthOf(day) !== month || !pickable(day)) { day = open.length ? open[0] : null; }
      if (settings.focus && monthOf(settings.focus) === month) { focusDay = settings.focus; }
      else if (!focusDay || monthOf(focusDay) !== month) { focusDay = day || (month === firstMonth() ? today() : month + "-01"); }
      drawGrid();
      drawTimes();
      if (settings.focus) { focusOn(focusDay); }
    }

    function drawGrid() {
      grid.textContent = "";
      var head = element("thead");
      var row = element("tr");
      for (var column = 0; column < 7; column += 1) {
        var sample = addDays("2024-01-01", (firstWeekday + column) % 7);  // 1 January 2024 was a Monday
        var th = element("th", "", new Intl.DateTimeFormat(locale, { timeZone: "UTC", weekday: "short" }).format(noon(sample)));
        th.scope = "col";
        th.abbr = new Intl.DateTimeFormat(locale, { timeZone: "UTC", weekday: "long" }).format(noon(sample));
        row.appendChild(th);
      }
      head.appendChild(row);
      grid.appendChild(head);
      var body = element("tbody");
      var first = month + "-01";
      var last = lastOfMonth(month);
      var cursor = addDays(first, -((mondayIndex(first) - firstWeekday + 7) % 7));
      var current = currentStart();
      var currentDay = current ? dayOf(new Date(current), zone()) : null;
      var now = today();
      while (cursor <= last) {
        row = element("tr");
        for (var i = 0; i < 7; i += 1) {
          var cell = element("td");
          cell.setAttribute("role", "gridcell");
          if (monthOf(cursor) === month) {
            var button = element("button", "day", String(Number(cursor.slice(8))));
            button.type = "button";
            button.setAttribute("data-day", cursor);
            button.tabIndex = cursor === focusDay ? 0 : -1;
            var count = pickable(cursor) ? slotsByDay[cursor].filter(function (slot) { return !slot.current; }).length : 0;
            if (pickable(cursor)) {
              button.classList.add("open");
              button.setAttribute("aria-label", count === 1 ? fill(t("times-one"), { day: dayText(cursor, true) })
                : fill(t("times-other"), { day: dayText(cursor, true), count: count }));
            } else {
              button.setAttribute("aria-disabled", "true");
              button.setAttribute("aria-label", fill(t("no-times"), { day: dayText(cursor, true) }));
            }
            if (cursor === now) { button.classList.add("today"); button.setAttribute("aria-current", "date"); }
            if (cursor === currentDay) { button.classList.add("has-current"); }
            if (cursor === day) { cell.setAttribute("aria-selected", "true"); }
            cell.appendChild(button);
          } else {
            cell.className = "outside";
          }
          row.appendChild(cell);
          cursor = addDays(cursor, 1);
        }
        body.appendChild(row);
      }
      grid.appendChild(body);
    }

    function drawTimes() {
      list.textContent = "";
      var chosenDay = day;
      var slots = chosenDay ? slotsByDay[chosenDay] : [];
      timesTitle.textContent = chosenDay ? fill(t("times-on"), { day: dayText(chosenDay, true) }) : title.textContent;
      var free = slots.filter(function (slot) { return !slot.current; });
      confirmRow.hidden = !free.length;
      if (!slots.length) {
        var empty = element("p", "empty", month < lastMonth() ? t("empty-try-next") : t("empty-month"));
        empty.setAttribute("data-testid", "no-slots");
        list.appendChild(empty);
      }
      var anyInsideCutoff = false;
      slots.forEach(function (slot) {
        var start = new Date(slot.start);
        var label = element("label", "slot");
        var input = element("input");
        input.type = "radio";
        input.name = "slot";
        var face = element("span", "slot-face");
        face.appendChild(element("span", "slot-time", clockText(start)));
        if (slot.current) {
          label.classList.add("current");
          input.disabled = true;
          face.appendChild(element("span", "slot-note", t("current-note")));
        } else {
          input.value = slot.start + "/" + slot.end;
          input.setAttribute("data-start", slot.start);
          input.setAttribute("data-end", slot.end);
          if (start.getTime() < Date.now() + cutoffMs) {
            anyInsideCutoff = true;
            label.classList.add("inside-cutoff");
            input.setAttribute("data-inside-cutoff", "");
            var note = element("span", "slot-note", t("cutoff-note"));
            note.setAttribute("data-testid", "cutoff-note");
            face.appendChild(note);
          }
        }
        label.appendChild(input);
        label.appendChild(face);
        list.appendChild(label);
      });
      cutoffLegend.hidden = !anyInsideCutoff;
      if (formZone) { formZone.value = zone(); }
      describe();
    }

    function chosen() { return form.querySelector('input[name="slot"]:checked'); }

    function describe() {
      var input = chosen();
      cutoffWarning.hidden = true;
      if (!input) { selection.textContent = ""; return; }
      var start = new Date(input.getAttribute("data-start"));
      var end = new Date(input.getAttribute("data-end"));
      selection.textContent = fill(t("summary"), {
        day: dayText(dayOf(start, zone()), true), time: clockText(start) + "–" + clockText(end), zone: zone()
      });
      if (input.hasAttribute("data-inside-cutoff")) {
        cutoffWarning.textContent = fill(t("summary-cutoff"), { hours: cutoffMs / 3600000 });
        cutoffWarning.hidden = false;
      }
    }

    function focusOn(someDay) {
      var target = grid.querySelector('[data-day="' + someDay + '"]');
      if (!target) { return; }
      grid.querySelectorAll("[data-day]").forEach(function (other) { other.tabIndex = -1; });
      target.tabIndex = 0;
      target.focus();
    }

    function moveTo(someDay) {
      var earliest = firstMonth() + "-01";
      var latest = lastOfMonth(lastMonth());
      var target = someDay < earliest ? earliest : (someDay > latest ? latest : someDay);
      focusDay = target;
      if (monthOf(target) !== month) { show(monthOf(target), { focus: target }); } else { focusOn(target); }
    }

    function pickDay(someDay) {
      if (!pickable(someDay)) { return; }
      day = someDay;
      focusDay = someDay;
      drawGrid();
      drawTimes();
      focusOn(someDay);
      SB.hideMessage(message);
    }

    grid.addEventListener("click", function (event) {
      var button = event.target.closest("[data-day]");
      if (button) { pickDay(button.getAttribute("data-day")); }
    });
    grid.addEventListener("keydown", function (event) {
      var button = event.target.closest("[data-day]");
      if (!button) { return; }
      var here = button.getAttribute("data-day");
      var column = (mondayIndex(here) - firstWeekday + 7) % 7;
      var moves = {
        ArrowLeft: function () { return addDays(here, -1); },
        ArrowRight: function () { return addDays(here, 1); },
        ArrowUp: function () { return addDays(here, -7); },
        ArrowDown: function () { return addDays(here, 7); },
        Home: function () { return addDays(here, -column); },
        End: function () { return addDays(here, 6 - column); },
        PageUp: function () { return clampDay(addMonths(monthOf(here), event.shiftKey ? -12 : -1), Number(here.slice(8))); },
        PageDown: function () { return clampDay(addMonths(monthOf(here), event.shiftKey ? 12 : 1), Number(here.slice(8))); }
      };
      if (moves[event.key]) {
        event.preventDefault();
        moveTo(moves[event.key]());
      }
    });
    prev.addEventListener("click", function () { focusDay = null; show(addMonths(month, -1)); });
    next.addEventListener("click", function () { focusDay = null; show(addMonths(month, 1)); });
    if (zoneSelect) { zoneSelect.addEventListener("change", function () { show(month); }); }
    form.addEventListener("change", function () {
      describe();
      if (chosen()) { SB.hideMessage(message); }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!busy) { confirm(); }
    });

    function pickerMessage(error) {
      return error.code === "provider_unavailable" ? t("unavailable") : SB.messageFor(error);
    }

    async function confirm() {
      var input = chosen();
      if (!input) {
        SB.showMessage(message, t("choose-first"), []);
        var firstSlot = form.querySelector('input[name="slot"]:not(:disabled)');
        if (firstSlot) { firstSlot.focus(); }
        return;
      }
      busy = true;
      confirmButton.setAttribute("aria-disabled", "true");
      SB.hideMessage(message);
      try {
        var body = { startTime: input.getAttribute("data-start"), endTime: input.getAttribute("data-end"), timezone: zone() };
        var panel = root.closest("[data-session-panel]");
        if (panel && panel.getAttribute("data-session-id")) { body.sessionId = panel.getAttribute("data-session-id"); }
        await SB.api("POST", "/book/api/" + mode, body);
        if (mode === "reschedule") { SB.sayAfterReload("moved"); }
        selection.textContent = t("booked");
        window.location.assign("/book");
        return;
      } catch (error) {
        SB.showMessage(message, pickerMessage(error), SB.actionsFor(error, confirm));
        if (error.code === "slot_unavailable") {
          delete cache[zone() + " " + month];
          await show(month, { keepMessage: true });
        }
      } finally {
        busy = false;
        confirmButton.removeAttribute("aria-disabled");
      }
    }

    // Opening the Move panel (again, maybe for another session) starts at that session's day.
    function start() {
      var current = currentStart();
      if (current) {
        day = dayOf(new Date(current), zone());
        month = monthOf(day);
        focusDay = day;
      }
      show(month || firstMonth());
    }

    if (zoneSelect) { chooseZone(zoneSelect, root.getAttribute("data-initial-zone") || detectedZone()); }
    var lazyPanel = root.closest("[data-lazy-picker]");
    if (lazyPanel) { lazyPanel.addEventListener("panel-open", start); }
    start();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-slot-picker]").forEach(function (root) {
      var lazyPanel = root.closest("[data-lazy-picker]");
      if (!lazyPanel) { Calendar(root); return; }
      var started = false;
      lazyPanel.addEventListener("panel-open", function () {
        if (!started) { started = true; Calendar(root); }
      });
    });
  });
})();
