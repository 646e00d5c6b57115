// Kiosk at a lost-and-found desk: sticker codes from a camera, a keyboard-wedge
// barcode scanner or an on-screen keypad, and an idle reset so the next person
// never sees the last one's data. Every control stays hidden without JavaScript.
(function () {
  "use strict";

  // ---- Sticker codes: an exact port of stickerreg/codes.py (tests compare both) ----

  var ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  var LENGTH = 12;
  var BODY_LENGTH = LENGTH - 1;
  var MAX_INPUT = 2048; // code points, as codes.MAX_INPUT
  var MODULUS = 37; // 0b100101: x^5 + x^2 + 1 defines GF(32)
  // Python's str.isspace() also counts the ASCII separators 1C-1F and NEL (85),
  // which JavaScript's \s does not; Pd covers every dash, Cf soft hyphens and
  // zero-width or bidi marks, U+2212 is the minus sign people type as a dash.
  var SEPARATOR = /[\s\x1c-\x1f\x85\u2212\p{Pd}\p{Cf}]/u;
  var QUERY_OR_FRAGMENT = /[?#]/;
  // Greedy [\s\S]* backtracks to the LAST "/s/", as the Python regex does.
  var STICKER_PATH = /^[\s\S]*\/[sS]\/([^\/]*)/;
  var LOOKALIKES = { O: "0", I: "1", L: "1" };

  function timesX(element) {
    element <<= 1;
    return element & 32 ? element ^ MODULUS : element;
  }

  function fold(text) {
    var state = 0;
    for (var i = 0; i < text.length; i++) state = timesX(state) ^ ALPHABET.indexOf(text[i]);
    return state;
  }

  function inAlphabet(text) {
    for (var i = 0; i < text.length; i++) if (ALPHABET.indexOf(text[i]) < 0) return false;
    return true;
  }

  function isValid(code) {
    return typeof code === "string" && code.length === LENGTH && inAlphabet(code) && fold(code) === 0;
  }

  function checkSymbol(body) {
    if (typeof body !== "string" || body.length !== BODY_LENGTH || !inAlphabet(body)) {
      throw new Error("a code body is " + BODY_LENGTH + " symbols of " + ALPHABET);
    }
    // Row r of the quasigroup holds 0 in column timesX(r): that symbol closes the fold.
    return ALPHABET[timesX(fold(body))];
  }

  function stickerPathSegment(text) {
    var match = STICKER_PATH.exec(text.split(QUERY_OR_FRAGMENT)[0]);
    return match ? match[1] : text;
  }

  function symbols(raw) {
    // Python only accepts str; the DOM always hands over strings, so anything else is empty.
    if (typeof raw !== "string") return "";
    // Cut by code points like Python's raw[:MAX_INPUT], not by UTF-16 units.
    var text = raw.length > MAX_INPUT ? Array.from(raw).slice(0, MAX_INPUT).join("") : raw;
    text = stickerPathSegment(text.normalize("NFKC"));
    var kept = Array.from(text).filter(function (char) { return !SEPARATOR.test(char); }).join("");
    return kept.toUpperCase().replace(/[OIL]/g, function (char) { return LOOKALIKES[char]; });
  }

  function normalize(raw) {
    var candidate = symbols(raw);
    return isValid(candidate) ? candidate : null;
  }

  function display(code) {
    if (!isValid(code)) throw new Error("not a valid canonical sticker code");
    return code.slice(0, 4) + "-" + code.slice(4, 8) + "-" + code.slice(8);
  }

  window.StickerCode = {
    ALPHABET: ALPHABET, symbols: symbols, isValid: isValid,
    checkSymbol: checkSymbol, normalize: normalize, display: display
  };

  // ---- Small helpers ----

  // querySelectorAll that also sees the root itself: htmx:load hands over the swapped element.
  function within(root, selector) {
    var found = Array.prototype.slice.call(root.querySelectorAll(selector));
    if (root.matches && root.matches(selector)) found.unshift(root);
    return found;
  }

  function once(element, name) {
    if (element.dataset[name]) return false;
    element.dataset[name] = "1";
    return true;
  }

  function fill(message, values) {
    return (message || "").replace(/%\((\w+)\)s/g, function (all, key) {
      return key in values ? String(values[key]) : all;
    });
  }

  function isField(element) {
    return !!element && (/^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName) || element.isContentEditable);
  }

  function wedgeInput() {
    return document.querySelector("[data-kiosk-wedge]");
  }

  function fireInput(input) {
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // ---- Wedge scanner and manual input ----

  function feedbackFor(input) {
    var value = input.value;
    var clean = symbols(value);
    if (!value.trim()) return { message: "", invalid: null };
    if (clean.length > LENGTH || !inAlphabet(clean)) return { message: input.dataset.msgTypo, invalid: "true" };
    if (clean.length < LENGTH) return { message: fill(input.dataset.msgShort, { n: LENGTH - clean.length }), invalid: null };
    if (isValid(clean)) return { message: fill(input.dataset.msgOk, { code: display(clean) }), invalid: "false" };
    return { message: input.dataset.msgTypo, invalid: "true" };
  }

  function showFeedback(input) {
    var result = feedbackFor(input);
    var scope = input.form || input.parentNode;
    var output = scope.querySelector("[data-kiosk-feedback]");
    if (output) output.textContent = result.message || "";
    // An unfinished code is not wrong yet, so it carries no aria-invalid at all.
    if (result.invalid === null) input.removeAttribute("aria-invalid");
    else input.setAttribute("aria-invalid", result.invalid);
  }

  function setUpWedge(input) {
    if (!once(input, "kioskReady")) return;
    input.addEventListener("input", function () { showFeedback(input); });
    input.focus();
    // After a rejected scan the old text is selected, so the next scan replaces it.
    if (input.value) input.select();
  }

  // ---- On-screen keypad ----

  function pressKey(input, key) {
    if (key === "backspace") input.value = Array.from(input.value).slice(0, -1).join("");
    else if (key === "clear") input.value = "";
    else input.value += key;
    fireInput(input);
  }

  function setUpKeypad(keypad) {
    if (!once(keypad, "kioskReady")) return;
    // Keeping the focus in the input keeps the on-screen caret and the wedge scanner working;
    // focus moves as mousedown's default action, so both events are cancelled.
    ["pointerdown", "mousedown"].forEach(function (name) {
      keypad.addEventListener(name, function (event) {
        if (event.target.closest("[data-key]")) event.preventDefault();
      });
    });
    keypad.addEventListener("click", function (event) {
      var button = event.target.closest("[data-key]");
      var input = wedgeInput();
      if (!button || !input) return;
      pressKey(input, button.dataset.key);
      // detail is 0 for Enter/Space on a focused key: keyboard users keep their place.
      if (event.detail > 0) input.focus({ preventScroll: true });
    });
    keypad.hidden = false;
  }

  // ---- Camera ----

  var camera = { session: 0, stream: null, block: null, timer: null };

  function cameraStatus(block, name) {
    var status = block.querySelector("[data-camera-status]");
    if (status) status.textContent = block.dataset[name] || "";
  }

  function showRunning(block, running) {
    block.querySelector("[data-camera-video]").hidden = !running;
    block.querySelector("[data-camera-start]").hidden = running;
    block.querySelector("[data-camera-stop]").hidden = !running;
  }

  function stopCamera() {
    camera.session += 1; // late getUserMedia answers and detection loops see they are stale
    clearTimeout(camera.timer);
    if (camera.stream) camera.stream.getTracks().forEach(function (track) { track.stop(); });
    if (camera.block) {
      var video = camera.block.querySelector("[data-camera-video]");
      if (video) { video.pause(); video.srcObject = null; }
      if (camera.block.isConnected) { showRunning(camera.block, false); cameraStatus(camera.block, ""); }
    }
    camera.stream = null;
    camera.block = null;
  }

  function cameraRunning() {
    return !!camera.stream;
  }

  function errorMessage(error) {
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError") return "msgDenied";
    if (name === "NotFoundError" || name === "OverconstrainedError" || name === "NotReadableError") return "msgNocamera";
    return "msgError";
  }

  // What a camera block looks for: a sticker's QR (the text as scanned, like a wedge
  // scanner types it) or, with data-camera-accept="pickup", an owner's 8-digit pickup code.
  // null means "not this": the camera keeps looking.
  var ACCEPTS = {
    sticker: function (text) { return normalize(text) ? text : null; },
    pickup: function (text) {
      var digits = text.replace(/\s/g, "");
      return /^\d{8}$/.test(digits) ? digits : null;
    }
  };

  // Returns true once the block's kind of code has been found and handed to its form.
  function found(block, text) {
    var accepted = (ACCEPTS[block.dataset.cameraAccept] || ACCEPTS.sticker)(text || "");
    if (accepted === null) return false;
    stopCamera();
    var input = document.getElementById(block.dataset.cameraFor || "") || wedgeInput();
    if (!input) return true;
    input.value = accepted;
    fireInput(input);
    var form = input.form || document.querySelector("[data-kiosk-scan-form]");
    if (form) form.requestSubmit();
    return true;
  }

  function scanWithDetector(block, video, session) {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    function step() {
      if (session !== camera.session) return;
      if (!video.isConnected) return stopCamera();
      var ready = video.readyState >= 2 ? detector.detect(video) : Promise.resolve([]);
      ready.then(function (codes) {
        if (session !== camera.session) return;
        for (var i = 0; i < codes.length; i++) if (found(block, codes[i].rawValue)) return;
        camera.timer = setTimeout(step, 150);
      }, function () {
        if (session === camera.session) camera.timer = setTimeout(step, 300); // e.g. a frame not ready yet
      });
    }
    step();
  }

  function scanWithJsQR(block, video, session) {
    var canvas = document.createElement("canvas");
    var context = canvas.getContext("2d", { willReadFrequently: true });
    function step() {
      if (session !== camera.session) return;
      if (!video.isConnected) return stopCamera();
      var width = video.videoWidth, height = video.videoHeight;
      if (video.readyState >= 2 && width && height) {
        // jsQR's time grows with the pixel count; 800 px still resolves a sticker at arm's length.
        var scale = Math.min(1, 800 / Math.max(width, height));
        canvas.width = Math.round(width * scale);
        canvas.height = Math.round(height * scale);
        context.drawImage(video, 0, 0, canvas.width, canvas.height);
        var pixels = context.getImageData(0, 0, canvas.width, canvas.height);
        var result = window.jsQR(pixels.data, canvas.width, canvas.height, { inversionAttempts: "dontInvert" });
        if (result && found(block, result.data)) return;
      }
      camera.timer = setTimeout(step, 150);
    }
    step();
  }

  function detectorSupportsQr() {
    if (!("BarcodeDetector" in window)) return Promise.resolve(false);
    return Promise.resolve()
      .then(function () { return window.BarcodeDetector.getSupportedFormats(); })
      .then(function (formats) { return formats.indexOf("qr_code") >= 0; }, function () { return false; });
  }

  function startDetecting(block, video, session) {
    detectorSupportsQr().then(function (native) {
      if (session !== camera.session) return;
      if (native) scanWithDetector(block, video, session);
      else if (typeof window.jsQR === "function") scanWithJsQR(block, video, session);
      else { stopCamera(); cameraStatus(block, "msgError"); }
    });
  }

  function startCamera(block) {
    stopCamera();
    var session = camera.session;
    var video = block.querySelector("[data-camera-video]");
    cameraStatus(block, "msgStarting");
    navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false
    }).then(function (stream) {
      if (session !== camera.session || !block.isConnected) {
        stream.getTracks().forEach(function (track) { track.stop(); });
        return;
      }
      camera.stream = stream;
      camera.block = block;
      video.muted = true;
      video.playsInline = true;
      video.srcObject = stream;
      showRunning(block, true);
      cameraStatus(block, "msgLooking");
      var playing = video.play();
      if (playing) playing.catch(function () {}); // a swap mid-start aborts play(); stopCamera handles the rest
      startDetecting(block, video, session);
    }, function (error) {
      if (session === camera.session) cameraStatus(block, errorMessage(error));
    });
  }

  function setUpCamera(block) {
    if (!once(block, "kioskReady")) return;
    var start = block.querySelector("[data-camera-start]");
    var stop = block.querySelector("[data-camera-stop]");
    block.hidden = false;
    if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)) {
      cameraStatus(block, "msgNocamera");
      start.disabled = true;
      return;
    }
    start.addEventListener("click", function () { startCamera(block); });
    if (stop) stop.addEventListener("click", stopCamera);
  }

  // ---- Full screen, print, autofocus ----

  function setUpFullscreen(button) {
    if (!document.documentElement.requestFullscreen || !once(button, "kioskReady")) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      if (document.fullscreenElement) document.exitFullscreen().catch(function () {});
      else document.documentElement.requestFullscreen().catch(function () {});
    });
  }

  function setUpPrint(button) {
    if (!once(button, "kioskReady")) return;
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  }

  function init(root) {
    within(root, "[data-kiosk-wedge]").forEach(setUpWedge);
    within(root, "[data-kiosk-keypad]").forEach(setUpKeypad);
    within(root, "[data-kiosk-camera]").forEach(setUpCamera);
    within(root, "[data-kiosk-fullscreen]").forEach(setUpFullscreen);
    within(root, "[data-kiosk-print]").forEach(setUpPrint);
    // After a rejected form the first field to fix gets the focus (a scanned pickup code
    // must not land in the staff name); otherwise the screen's own first field.
    var autofocus = within(root, '[aria-invalid="true"]')[0] || within(root, "[data-autofocus]")[0];
    if (autofocus && !wedgeInput()) autofocus.focus();
  }

  // ---- Focus: scanners type into whatever has focus ----

  var lastWasPointer = false;

  function refocusWedge() {
    var input = wedgeInput();
    var active = document.activeElement;
    if (!input || active === input || isField(active)) return;
    var screen = input.closest("[data-screen]") || document.body;
    // Pointer clicks on buttons give the focus back; Tab keeps working for keyboard users.
    // preventScroll: scrolling the field into view between mousedown and mouseup would move
    // the page under the pointer, and the press on a link or button below would be lost.
    if (!active || active === document.body || (lastWasPointer && screen.contains(active))) {
      input.focus({ preventScroll: true });
    }
  }

  // A scanner firing while a button has keyboard focus would lose its characters.
  function redirectTyping(event) {
    var input = wedgeInput();
    if (!input || isField(document.activeElement) || event.ctrlKey || event.metaKey || event.altKey) return;
    if (!/^[0-9A-Za-z:\/.\-]$/.test(event.key)) return;
    event.preventDefault();
    input.focus();
    input.value += event.key;
    fireInput(input);
  }

  // ---- Idle reset ----

  var idle = { timer: null, seconds: 0, url: "" };

  function textFields() {
    return Array.prototype.filter.call(document.querySelectorAll("input, textarea"), function (field) {
      return !/^(hidden|submit|button|reset|image|checkbox|radio|file)$/.test(field.type);
    });
  }

  // Waiting on an empty scan screen is the resting state: reloading it would loop forever.
  function atRest() {
    return !!document.querySelector('[data-screen="scan"]') && !cameraRunning() &&
      textFields().every(function (field) { return !field.value; });
  }

  function clearEverything() {
    document.querySelectorAll("form").forEach(function (form) { form.reset(); });
    // reset() restores server-rendered values, which may hold the last visitor's text.
    document.querySelectorAll("input, textarea, select").forEach(function (field) {
      if (field.tagName === "SELECT") field.selectedIndex = -1;
      else if (field.type === "checkbox" || field.type === "radio") field.checked = false;
      else if (!/^(submit|button|reset|image)$/.test(field.type)) field.value = "";
    });
  }

  function resetNow() {
    stopCamera();
    clearEverything();
    // replace(): the back button must not bring the previous visitor's screen back.
    window.location.replace(idle.url || "/kiosk/");
  }

  function restartIdle() {
    clearTimeout(idle.timer);
    if (idle.seconds > 0) idle.timer = setTimeout(onIdle, idle.seconds * 1000);
  }

  function onIdle() {
    if (atRest()) restartIdle();
    else resetNow();
  }

  function setUpIdle() {
    var body = document.body;
    if (!body.hasAttribute("data-kiosk")) return;
    idle.seconds = parseFloat(body.dataset.idleSeconds) || 60;
    idle.url = body.dataset.resetUrl || "/kiosk/";
    ["pointerdown", "keydown", "input", "touchstart", "wheel"].forEach(function (name) {
      document.addEventListener(name, restartIdle, { capture: true, passive: true });
    });
    restartIdle();
  }

  window.Kiosk = { resetNow: resetNow, stopCamera: stopCamera };

  document.addEventListener("pointerdown", function () { lastWasPointer = true; }, true);
  document.addEventListener("keydown", function (event) {
    lastWasPointer = false;
    redirectTyping(event);
  }, true);
  // Wait for the focus to settle: focusout fires before the new element has it.
  document.addEventListener("focusout", function () { setTimeout(refocusWedge, 0); });
  function start() {
    setUpIdle();
    init(document);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  document.addEventListener("htmx:load", function (event) {
    // A new screen starts at its top, as a page would: its heading and a refusal show first
    // (init's focus still scrolls a field further down into view).
    if (event.detail.elt.id === "screen") window.scrollTo(0, 0);
    init(event.detail.elt);
  });
  // A swapped-out screen must not leave the camera running behind the new one.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (camera.block && (!target || target.contains(camera.block))) stopCamera();
  });
  window.addEventListener("pagehide", stopCamera);
})();
