/* sessionbook time-zone picker: turns the zone <select> into a searchable combobox (ARIA 1.2,
 * editable, list autocomplete). The select stays the page's value: whatever the customer picks
 * is set on it and announced with its own change event, so the rest of the page reads it as ever.
 * The zones are the select's options; the visible words come from the template's data-* attributes. */
(function () {
  "use strict";

  var OFFSET = /^\(UTC([+-]\d\d:\d\d)\)\s*/;
  var nativeValue = Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, "value");

  // Lower case, accents off, "_" and "/" as spaces: "São_Paulo" and "sao paulo" meet.
  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[_/,()[\]]/g, " ").replace(/\s+/g, " ").trim();
  }

  // "+5:30", "UTC+5", "-03", "−3" give "+05:30", "+05", "-03", "-03"; any other text gives null.
  function offsetQuery(text) {
    var match = /^(?:utc|gmt)?\s*([+\-\u2212])\s*(\d{1,2})(?::?(\d{2}))?$/.exec(text);
    if (!match) { return null; }
    return (match[1] === "+" ? "+" : "-") + ("0" + match[2]).slice(-2) + (match[3] ? ":" + match[3] : "");
  }

  function entryOf(option, index) {
    var label = option.textContent.trim();
    var found = OFFSET.exec(label);
    var place = label.replace(OFFSET, "");
    var comma = place.lastIndexOf(", ");
    var city = comma >= 0 ? place.slice(0, comma) : place;
    var country = comma >= 0 ? place.slice(comma + 2) : "";
    return { value: option.value, label: label, index: index, offset: found ? found[1] : "",
             known: option.hasAttribute("data-known") ? 0 : 1,
             city: fold(city), country: fold(country), zone: fold(option.value) };
  }

  function wordStart(text, query) { return (" " + text).indexOf(" " + query) >= 0; }

  // Lower is better; -1 leaves the zone out.
  function score(entry, query, offset) {
    if (offset) {
      if (entry.offset.indexOf(offset) !== 0) { return -1; }
      return entry.offset === offset ? 0 : 1;
    }
    if (entry.city === query) { return 0; }
    if (entry.city.indexOf(query) === 0) { return 1; }
    if (wordStart(entry.city, query)) { return 2; }
    if (wordStart(entry.zone, query)) { return 3; }
    if (wordStart(entry.country, query)) { return 4; }
    var all = entry.city + " " + entry.country + " " + entry.zone;
    if (all.indexOf(query) >= 0) { return 5; }
    // "paris fr", "york united": every word starts a word somewhere.
    var words = query.split(" ");
    return words.every(function (word) { return wordStart(all, word); }) ? 6 : -1;
  }

  function matches(entries, text) {
    var query = fold(text);
    if (!query) { return entries.slice(); }
    var offset = offsetQuery(query.replace(/\s+/g, ""));
    var scored = [];
    entries.forEach(function (entry) {
      var points = score(entry, query, offset);
      if (points >= 0) { scored.push({ entry: entry, points: points }); }
    });
    // A closer match first, then a well-known zone ("par": Paris before Paramaribo, "sao": São Paulo
    // before São Tomé), then the list order.
    scored.sort(function (a, b) {
      return a.points - b.points || a.entry.known - b.entry.known || a.entry.index - b.entry.index;
    });
    return scored.map(function (item) { return item.entry; });
  }

  function TzPicker(root, select) {
    var aliases = {};
    (select.getAttribute("data-aliases") || "").split(" ").forEach(function (pair) {
      var parts = pair.split(":");
      if (parts.length === 2) { aliases[parts[0]] = parts[1]; }
    });
    var entries = Array.prototype.map.call(select.querySelectorAll("option"), entryOf);
    var byValue = {};
    entries.forEach(function (entry) { byValue[entry.value] = entry; });

    var label = root.querySelector("label");
    var hint = root.querySelector("[data-tz-hint]");
    var wrapper = document.createElement("div");
    wrapper.className = "tz-combo";
    var input = document.createElement("input");
    input.type = "text";
    input.id = select.id + "-search";
    input.className = "tz-input";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", select.id + "-list");
    input.setAttribute("autocomplete", "off");
    input.setAttribute("autocapitalize", "off");
    input.setAttribute("spellcheck", "false");
    input.setAttribute("placeholder", root.getAttribute("data-search-label") || "");
    input.setAttribute("data-testid", "timezone-search");
    var list = document.createElement("ul");
    list.id = select.id + "-list";
    list.className = "tz-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", root.getAttribute("data-list-label") || "");
    list.setAttribute("data-testid", "timezone-list");
    list.hidden = true;
    var empty = document.createElement("p");
    empty.className = "tz-empty";
    empty.setAttribute("role", "status");
    var shown = [];
    var active = -1;

    function chosenLabel() {
      var option = select.options[select.selectedIndex];
      return option ? option.textContent.trim() : "";
    }

    function showChosen() { input.value = chosenLabel(); }

    // A browser or a stored booking may name an old alias (Asia/Calcutta): show its zone instead.
    function resolve(value) {
      var target = aliases[value];
      if (target && byValue[target] && !byValue[value]) {
        Array.prototype.slice.call(select.options).forEach(function (option) {
          if (option.value === value) { option.remove(); }
        });
        return target;
      }
      return value;
    }

    Object.defineProperty(select, "value", {
      configurable: true,
      get: function () { return nativeValue.get.call(select); },
      set: function (value) {
        nativeValue.set.call(select, resolve(String(value)));
        showChosen();
      }
    });

    function isOpen() { return input.getAttribute("aria-expanded") === "true"; }

    function setActive(index) {
      var items = list.children;
      if (active >= 0 && items[active]) { items[active].setAttribute("aria-selected", "false"); }
      active = index;
      if (index < 0 || !items[index]) {
        active = -1;
        input.removeAttribute("aria-activedescendant");
        return;
      }
      items[index].setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", items[index].id);
      items[index].scrollIntoView({ block: "nearest" });
    }

    function render(text) {
      shown = matches(entries, text);
      var current = select.value;
      var fragment = document.createDocumentFragment();
      shown.forEach(function (entry, index) {
        var item = document.createElement("li");
        item.id = list.id + "-" + index;
        item.className = entry.value === current ? "tz-option is-current" : "tz-option";
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.setAttribute("data-value", entry.value);
        item.textContent = entry.label;
        fragment.appendChild(item);
      });
      list.textContent = "";
      list.appendChild(fragment);
      active = -1;
      input.removeAttribute("aria-activedescendant");
      empty.textContent = shown.length ? "" : root.getAttribute("data-no-match") || "";
      list.hidden = !shown.length;
    }

    function open(text) {
      render(text);
      input.setAttribute("aria-expanded", shown.length ? "true" : "false");
    }

    function close() {
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      list.hidden = true;
      empty.textContent = "";
      active = -1;
    }

    // What the customer typed; the chosen zone's own label asks for the whole list.
    function query() { return input.value === chosenLabel() ? "" : input.value; }

    function openAtChosen() {
      open(query());
      var index = -1;
      shown.forEach(function (entry, at) { if (entry.value === select.value) { index = at; } });
      setActive(index >= 0 ? index : 0);
    }

    function pick(entry) {
      close();
      var changed = entry.value !== select.value;
      nativeValue.set.call(select, entry.value);
      showChosen();
      if (changed) { select.dispatchEvent(new Event("change", { bubbles: true })); }
    }

    input.addEventListener("input", function () { open(input.value); });
    input.addEventListener("focus", function () { input.select(); });
    input.addEventListener("click", function () { if (!isOpen()) { open(query()); } });
    input.addEventListener("blur", function () { close(); showChosen(); });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!isOpen()) {
          if (event.altKey) { open(query()); } else { openAtChosen(); }
          return;
        }
        var last = shown.length - 1;
        if (event.key === "ArrowDown") { setActive(active < last ? active + 1 : 0); }
        else { setActive(active > 0 ? active - 1 : last); }
      } else if (event.key === "Enter") {
        if (!isOpen()) { return; }
        event.preventDefault();
        var entry = shown[active >= 0 ? active : 0];
        if (entry) { pick(entry); }
      } else if (event.key === "Escape") {
        if (isOpen() || input.value !== chosenLabel()) { event.preventDefault(); }
        close();
        showChosen();
      } else if (event.key === "Tab") {
        close();
        showChosen();
      }
    });
    // Keep the focus in the input while the mouse presses an option, then pick it.
    list.addEventListener("mousedown", function (event) { event.preventDefault(); });
    list.addEventListener("click", function (event) {
      var item = event.target.closest("[role=option]");
      if (item) { pick(byValue[item.getAttribute("data-value")]); input.focus(); }
    });
    select.addEventListener("change", showChosen);

    wrapper.appendChild(input);
    wrapper.appendChild(list);
    wrapper.appendChild(empty);
    select.parentNode.insertBefore(wrapper, select.nextSibling);
    // The select keeps the value for the page but leaves the screen, the tab order and the
    // accessibility tree to the combobox.
    select.classList.add("visually-hidden");
    select.setAttribute("aria-hidden", "true");
    select.tabIndex = -1;
    label.htmlFor = input.id;
    if (hint) {
      hint.hidden = false;
      input.setAttribute("aria-describedby", hint.id);
    }
    root.classList.add("is-enhanced");
    showChosen();
  }

  function start() {
    document.querySelectorAll("[data-tz-picker]").forEach(function (root) {
      var select = root.querySelector("select[data-timezone]");
      if (!select || select.hasAttribute("data-tz-ready")) { return; }
      select.setAttribute("data-tz-ready", "");
      TzPicker(root, select);
    });
  }

  // Deferred, the script runs before DOMContentLoaded: the picker is ready before any other
  // script chooses the starting zone on the select.
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
