/* sessionbook booking pages: shared helpers, the details form, payment polling and panels.
 * Plain JavaScript, no libraries. It never sees the booking token: requests go to /book/api/*
 * on this origin and the browser adds the HttpOnly cookie; POSTs carry the page's CSRF token. */
(function () {
  "use strict";

  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = csrfMeta ? csrfMeta.getAttribute("content") : "";

  // Human messages for the API's error codes; the server's own message is the fallback.
  var MESSAGES = {
    slot_unavailable: "Sorry, that time was just taken. Please pick another one; the list below is up to date.",
    provider_unavailable: "The calendar or payment provider isn't answering right now. Nothing was lost; please try again in a moment.",
    booking_expired: "This booking has expired. Please start a new booking.",
    booking_not_found: "We can't find your booking in this browser any more. Open your booking link again, or start a new booking.",
    booking_not_schedulable: "This booking can't be changed any more. Reload the page to see where it stands.",
    payment_required: "Your payment hasn't been confirmed yet. Reload the page to see where it stands.",
    rate_limited: "Too many tries in a short time. Please wait a moment, then try again.",
    csrf_failed: "This page is out of date. Please reload it and try again.",
    network: "We can't reach the booking site. Check your internet connection, then try again."
  };

  function ApiError(kind, status, code, message, retryAfter) {
    this.kind = kind;
    this.status = status;
    this.code = code;
    this.message = message;
    this.retryAfter = retryAfter;
  }

  async function api(method, path, body) {
    var init = { method: method, credentials: "same-origin", cache: "no-store",
                 headers: { "Accept": "application/json" } };
    if (method !== "GET") {
      init.headers["Content-Type"] = "application/json";
      init.headers["X-CSRF-Token"] = csrfToken;
      init.body = JSON.stringify(body || {});
    }
    var response;
    try {
      response = await fetch(path, init);
    } catch (networkProblem) {
      throw new ApiError("network", 0, "network", MESSAGES.network, null);
    }
    var data = null;
    try { data = await response.json(); } catch (notJson) { data = null; }
    if (response.ok) { return data; }
    var error = (data && data.error) || {};
    throw new ApiError("http", response.status, error.code || "unknown",
                       error.message || "Something went wrong. Please try again.",
                       response.headers.get("Retry-After"));
  }

  function messageFor(error) {
    return MESSAGES[error.code] || error.message || "Something went wrong. Please try again.";
  }

  /* Show `text` in a message box with optional actions: {label, href} links or
   * {label, run} buttons. The box is role=alert, so screen readers announce it. */
  function showMessage(box, text, actions) {
    box.textContent = "";
    var paragraph = document.createElement("p");
    paragraph.textContent = text;
    box.appendChild(paragraph);
    (actions || []).forEach(function (action) {
      var control;
      if (action.href) {
        control = document.createElement("a");
        control.href = action.href;
      } else {
        control = document.createElement("button");
        control.type = "button";
        control.addEventListener("click", action.run);
      }
      control.className = "button small";
      control.textContent = action.label;
      box.appendChild(control);
    });
    box.hidden = false;
  }

  function hideMessage(box) {
    box.hidden = true;
    box.textContent = "";
  }

  // The way forward for each failure: retry, reload, or start again.
  function actionsFor(error, retry) {
    if (error.code === "booking_expired" || error.code === "booking_not_found") {
      return [{ label: "Start a new booking", href: "/" }];
    }
    if (["booking_not_schedulable", "payment_required", "csrf_failed"].indexOf(error.code) >= 0) {
      return [{ label: "Reload the page", run: function () { window.location.reload(); } }];
    }
    if (error.code === "slot_unavailable") { return []; }
    return retry ? [{ label: "Try again", run: retry }] : [];
  }

  // Clock times as the reader's locale writes them: "09:30" where clocks run 0-23, "9:30 AM"
  // where they run 1-12 (a leading zero there, "09:30 AM", reads oddly).
  function clockOptions(zone) {
    var cycle = new Intl.DateTimeFormat(undefined, { hour: "numeric" }).resolvedOptions().hourCycle;
    var twentyFour = cycle === "h23" || cycle === "h24";
    return { timeZone: zone, hour: twentyFour ? "2-digit" : "numeric", minute: "2-digit" };
  }

  /* A message for the page the reload brings ("moved"): kept in this tab only, shown once. */
  var AFTER_RELOAD_KEY = "sessionbook-after-reload";

  function sayAfterReload(name) {
    try { window.sessionStorage.setItem(AFTER_RELOAD_KEY, name); } catch (unavailable) { /* no message then */ }
  }

  function showAfterReloadNotice() {
    var name = null;
    try {
      name = window.sessionStorage.getItem(AFTER_RELOAD_KEY);
      window.sessionStorage.removeItem(AFTER_RELOAD_KEY);
    } catch (unavailable) { return; }
    var notice = name && document.querySelector('[data-after-reload="' + name + '"]');
    if (notice) { notice.hidden = false; }
  }

  window.SessionBook = { api: api, messageFor: messageFor, showMessage: showMessage,
                         hideMessage: hideMessage, actionsFor: actionsFor, clockOptions: clockOptions,
                         sayAfterReload: sayAfterReload };

  /* ---- details form: the API's rules, checked as the customer types ---- */
  var RULES = {
    name: function (value) {
      var length = Array.from(value.trim()).length;
      if (!length) { return "Please enter your name."; }
      if (length < 2) { return "Please enter at least 2 characters."; }
      if (length > 100) { return "Please use at most 100 characters."; }
      return "";
    },
    email: function (value) {
      var trimmed = value.trim();
      if (!trimmed) { return "Please enter your email address."; }
      if (trimmed.length > 255) { return "Please use at most 255 characters."; }
      if (!/^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/.test(trimmed)) {
        return "Please enter a valid email address, like name@example.com.";
      }
      return "";
    },
    phone: function (value) {
      return Array.from(value.trim()).length > 40 ? "Please use at most 40 characters." : "";
    },
    notes: function (value) {
      return Array.from(value.trim()).length > 1000 ? "Please use at most 1000 characters." : "";
    }
  };

  function setFieldError(input, message) {
    var box = document.getElementById(input.id + "-error");
    input.closest(".field").classList.toggle("has-error", Boolean(message));
    if (message) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
    if (box) { box.textContent = message; box.hidden = !message; }
  }

  function initDetailsForm(form) {
    var submit = form.querySelector('button[type="submit"]');
    var submitLabel = submit.textContent;
    Object.keys(RULES).forEach(function (name) {
      var input = form.elements.namedItem(name);
      if (!input) { return; }
      input.addEventListener("blur", function (event) {
        // Leaving for the submit button: a message appearing now would move the button from
        // under the pointer and swallow the click; the submit check shows it instead.
        if (event.relatedTarget === submit) { return; }
        if (input.value !== "" || input.getAttribute("aria-invalid")) { setFieldError(input, RULES[name](input.value)); }
      });
      input.addEventListener("input", function () {
        if (input.getAttribute("aria-invalid")) { setFieldError(input, RULES[name](input.value)); }
      });
    });
    form.addEventListener("submit", function (event) {
      if (submit.getAttribute("aria-disabled") === "true") { event.preventDefault(); return; }
      var firstInvalid = null;
      Object.keys(RULES).forEach(function (name) {
        var input = form.elements.namedItem(name);
        if (!input) { return; }
        var message = RULES[name](input.value);
        setFieldError(input, message);
        if (message && !firstInvalid) { firstInvalid = input; }
      });
      if (firstInvalid) {
        event.preventDefault();
        firstInvalid.focus();
        return;
      }
      submit.setAttribute("aria-disabled", "true");
      submit.textContent = "Sending…";
    });
    // Coming back with the Back button shows the cached page: make the button usable again.
    window.addEventListener("pageshow", function () {
      submit.removeAttribute("aria-disabled");
      submit.textContent = submitLabel;
    });
  }

  /* ---- waiting for payment: poll the status, with backoff, then offer "Check again" ---- */
  var POLL_FIRST_LOOK_MS = 1500;
  var POLL_FIRST_MS = 2500;
  var POLL_MAX_MS = 15000;
  var POLL_FAST_FOR_MS = 45000;
  var POLL_GIVE_UP_MS = 180000;

  function initPaymentPoll(root, view) {
    var text = root.querySelector("[data-poll-text]");
    var stopped = root.querySelector("[data-poll-stopped]");
    var checkAgain = root.querySelector("[data-check-again]");
    var pulse = root.querySelector(".pulse");
    var startedAt = 0;
    var delay = POLL_FIRST_MS;
    var timer = null;
    var running = false;

    function schedule() { timer = window.setTimeout(tick, delay); }

    async function tick() {
      timer = null;
      try {
        var status = await api("GET", "/book/api/status");
        if (status.view !== view) {
          text.textContent = "Payment update received. Loading the next step…";
          window.location.reload();
          return;
        }
      } catch (error) {
        if (error.status === 404 || error.status === 410) { window.location.reload(); return; }
        if (error.kind === "network") { text.textContent = "Connection problem; still trying…"; }
      }
      var elapsed = Date.now() - startedAt;
      if (elapsed >= POLL_GIVE_UP_MS) { stop(); return; }
      delay = elapsed < POLL_FAST_FOR_MS ? POLL_FIRST_MS : Math.min(delay * 1.5, POLL_MAX_MS);
      schedule();
    }

    function start(immediately) {
      running = true;
      startedAt = Date.now();
      // A customer just back from paying usually waits on a webhook a second away.
      delay = POLL_FIRST_LOOK_MS;
      stopped.hidden = true;
      checkAgain.hidden = true;
      if (pulse) { pulse.hidden = false; }
      if (immediately) { tick(); } else { schedule(); }
    }

    function stop() {
      running = false;
      text.textContent = "Stopped checking automatically.";
      stopped.hidden = false;
      checkAgain.hidden = false;
      if (pulse) { pulse.hidden = true; }
    }

    checkAgain.addEventListener("click", function () {
      text.textContent = "Checking…";
      start(true);
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && !running && timer === null) { start(true); }
    });
    start(false);
  }

  /* ---- disclosure panels (change time, cancel) ----
   * In a package of several sessions one Move and one Cancel panel serve every session: the
   * button that opens a panel hands it its session (data-session-id), which the panel's
   * request then names. */
  function setPanel(panel, open) {
    panel.hidden = !open;
    document.querySelectorAll('[data-toggle="' + panel.id + '"][aria-expanded]').forEach(function (control) {
      var session = control.getAttribute("data-session-id");
      var mine = !session || session === panel.getAttribute("data-session-id");
      control.setAttribute("aria-expanded", String(open && mine));
    });
  }

  function giveSession(panel, button) {
    var session = button.getAttribute("data-session-id");
    if (!session) { return false; }
    var changed = panel.getAttribute("data-session-id") !== session;
    panel.setAttribute("data-session-id", session);
    panel.setAttribute("data-session-start", button.getAttribute("data-session-start") || "");
    panel.querySelectorAll("[data-session-text]").forEach(function (text) {
      text.textContent = button.getAttribute("data-session-text");
    });
    var message = panel.querySelector("[data-cancel-message], [data-picker-message]");
    if (changed && message) { hideMessage(message); }
    return changed;
  }

  function initToggles() {
    document.querySelectorAll("[data-toggle]").forEach(function (button) {
      button.addEventListener("click", function () {
        var panel = document.getElementById(button.getAttribute("data-toggle"));
        // Another session's button on an open panel moves the panel to that session.
        var switching = giveSession(panel, button) && !panel.hidden;
        var opening = panel.hidden || switching;
        if (opening) {
          // One panel at a time: moving and cancelling are different decisions.
          document.querySelectorAll(".panel").forEach(function (other) { setPanel(other, false); });
          panel.opener = button.hasAttribute("aria-expanded") ? button : null;
        }
        setPanel(panel, opening);
        if (opening) {
          panel.dispatchEvent(new CustomEvent("panel-open"));
          var heading = panel.querySelector("h3");
          heading.setAttribute("tabindex", "-1");
          heading.focus();
        } else {
          var opener = panel.opener || document.querySelector('[data-toggle="' + panel.id + '"][aria-expanded]');
          if (opener) { opener.focus(); }
        }
      });
    });
  }

  function initCancel(panel) {
    var confirmButton = panel.querySelector("[data-cancel-confirm]");
    var message = panel.querySelector("[data-cancel-message]");
    async function cancel() {
      hideMessage(message);
      confirmButton.setAttribute("aria-disabled", "true");
      try {
        var session = panel.getAttribute("data-session-id");
        await api("POST", "/book/api/cancel", session ? { sessionId: session } : {});
        window.location.reload();
      } catch (error) {
        confirmButton.removeAttribute("aria-disabled");
        showMessage(message, messageFor(error), actionsFor(error, cancel));
      }
    }
    confirmButton.addEventListener("click", function () {
      if (confirmButton.getAttribute("aria-disabled") !== "true") { cancel(); }
    });
  }

  /* ---- the confirmation's date and time in the reader's own clock style (12 or 24 hours) ---- */
  function localiseTimes() {
    document.querySelectorAll("[data-local-day]").forEach(function (element) {
      element.textContent = new Intl.DateTimeFormat(undefined, {
        timeZone: element.getAttribute("data-zone"), weekday: "long", day: "numeric", month: "long", year: "numeric"
      }).format(new Date(element.getAttribute("data-start")));
    });
    document.querySelectorAll("[data-local-datetime]").forEach(function (element) {
      element.textContent = new Intl.DateTimeFormat(undefined, Object.assign(
        { weekday: "long", day: "numeric", month: "long" }, clockOptions(undefined)
      )).format(new Date(element.getAttribute("datetime")));
    });
    document.querySelectorAll("[data-local-time]").forEach(function (element) {
      var format = new Intl.DateTimeFormat(undefined, clockOptions(element.getAttribute("data-zone")));
      element.textContent = format.formatRange(new Date(element.getAttribute("data-start")),
                                               new Date(element.getAttribute("data-end")));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localiseTimes();
    showAfterReloadNotice();
    var form = document.querySelector("[data-details-form]");
    if (form) { initDetailsForm(form); }
    var booking = document.querySelector("[data-view]");
    var poll = document.querySelector("[data-payment-poll]");
    if (booking && poll) { initPaymentPoll(poll, booking.getAttribute("data-view")); }
    var focusTarget = document.querySelector("[data-focus-on-load]");
    if (focusTarget) { focusTarget.focus({ preventScroll: true }); }
    initToggles();
    var cancelPanel = document.querySelector("[data-cancel-panel]");
    if (cancelPanel) { initCancel(cancelPanel); }
  });
})();
