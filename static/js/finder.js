// Optional, consented location for the finder's message. Without JavaScript the
// fieldset stays hidden and the form works as before.
(function () {
  "use strict";

  function round(value) {
    return (Math.round(value * 1000) / 1000).toFixed(3); // about 100 m
  }

  function setUp(fieldset) {
    var toggle = fieldset.querySelector('input[type="checkbox"]');
    var latitude = fieldset.querySelector('input[name="latitude"]');
    var longitude = fieldset.querySelector('input[name="longitude"]');
    var status = fieldset.querySelector(".location-status");
    if (!toggle || fieldset.dataset.ready) return;
    fieldset.dataset.ready = "1";
    if (!("geolocation" in navigator)) {
      status.textContent = fieldset.dataset.msgUnsupported;
      toggle.disabled = true;
    }
    fieldset.hidden = false;

    function clear(message) {
      latitude.value = "";
      longitude.value = "";
      toggle.checked = false;
      status.textContent = message || "";
    }

    toggle.addEventListener("change", function () {
      if (!toggle.checked) return clear();
      status.textContent = fieldset.dataset.msgWaiting;
      navigator.geolocation.getCurrentPosition(
        function (position) {
          latitude.value = round(position.coords.latitude);
          longitude.value = round(position.coords.longitude);
          status.textContent = fieldset.dataset.msgAdded;
        },
        function () { clear(fieldset.dataset.msgDenied); },
        { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 }
      );
    });
  }

  // The private link's copy button: shown only where the browser can copy. If copying
  // fails, the link's text is selected so the finder can copy it by hand.
  function setUpCopy(button) {
    if (!navigator.clipboard || button.dataset.ready) return;
    button.dataset.ready = "1";
    button.hidden = false;
    var source = document.getElementById(button.dataset.copy);
    var status = button.closest(".sent").querySelector(".copy-status");
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(
        function () { status.textContent = button.dataset.msgCopied; },
        function () {
          window.getSelection().selectAllChildren(source);
          status.textContent = button.dataset.msgFailed;
        }
      );
    });
  }

  function init(root) {
    root.querySelectorAll("[data-geolocation]").forEach(setUp);
    root.querySelectorAll("[data-copy]").forEach(setUpCopy);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  // htmx swaps in a fresh form after a validation error.
  document.addEventListener("htmx:load", function (event) { init(event.detail.elt); });
  // After a swap, move focus to what changed, so keyboards and screen readers follow.
  document.addEventListener("htmx:afterSwap", function () {
    var target = document.querySelector('[aria-invalid="true"], [data-focus-on-swap]');
    if (target) target.focus();
  });
})();
