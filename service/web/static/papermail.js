/* papermail: small enhancements only; every page works without this file. */
(function () {
  "use strict";

  // Sign-up form: start from the browser's time zone instead of UTC.
  function fillTimezone() {
    var select = document.querySelector("select[data-autotz='fill']");
    if (!select || !window.Intl) return;
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!zone) return;
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === zone) { select.value = zone; return; }
    }
  }

  // Fields that only matter for one choice (the weekday of a weekly digest).
  function conditionalFields() {
    var fields = document.querySelectorAll("[data-show-when]");
    Array.prototype.forEach.call(fields, function (field) {
      var rule = field.getAttribute("data-show-when").split("=");
      var control = document.getElementById(rule[0]);
      if (!control) return;
      var update = function () { field.hidden = control.value !== rule[1]; };
      control.addEventListener("change", update);
      update();
    });
  }

  // Preferences: refresh "what you would have got today" as the form changes.
  function livePreview() {
    var form = document.querySelector("form[data-preview-url]");
    var target = document.getElementById("preview");
    if (!form || !target || !window.fetch || !window.URLSearchParams) return;
    var timer = null;
    var latest = 0;
    function refresh() {
      var params = new URLSearchParams();
      new FormData(form).forEach(function (value, key) {
        if (key !== "csrf_token" && typeof value === "string") params.append(key, value);
      });
      var ticket = ++latest;
      target.setAttribute("aria-busy", "true");
      fetch(form.getAttribute("data-preview-url") + "?" + params.toString(), {
        credentials: "same-origin",
        headers: { "Accept": "text/html" }
      }).then(function (response) {
        return response.text();
      }).then(function (html) {
        if (ticket !== latest) return; // an older answer arriving late
        target.innerHTML = html; // server-rendered and escaped by Jinja
        target.setAttribute("aria-busy", "false");
      }).catch(function () {
        target.setAttribute("aria-busy", "false");
      });
    }
    function schedule() {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 350);
    }
    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
  }

  // The sign-up's optional fields: folded on a phone (the day's papers come first), open where
  // the form has a column of its own. Without this script they stay folded and still work.
  function openWhenWide() {
    if (!window.matchMedia || !window.matchMedia("(min-width: 880px)").matches) return;
    Array.prototype.forEach.call(document.querySelectorAll("details[data-open-wide]"), function (details) {
      details.open = true;
    });
  }

  function selectOnFocus() {
    Array.prototype.forEach.call(document.querySelectorAll("input.copy"), function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
  }

  // After a refused form, take the reader (and the screen reader) to the list of problems.
  function focusErrors() {
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  }

  function start() {
    openWhenWide();
    focusErrors();
    fillTimezone();
    conditionalFields();
    livePreview();
    selectOnFocus();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
