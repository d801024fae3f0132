// The badge scanner's camera and QR decoding, without any page logic:
//   SalesgateCamera.start(video, {onCode, onState}) → the rear camera in <video>, decoding ~10/s
// Decoding uses the browser's BarcodeDetector where it exists and knows qr_code (Android Chrome,
// Safari 17+), otherwise zxing-wasm in a Web Worker (static/scan-worker.js), so the page never
// stalls. Only one frame is in flight at a time; frames are scaled to at most MAX_SIDE pixels.
(function () {
  "use strict";
  var MAX_SIDE = 960;          // a badge QR at arm's length stays well above 2 px per module
  var FRAME_GAP_MS = 70;       // with decoding time, about 10-12 frames a second
  var WORKER_URL = "/static/scan-worker.js";

  var stats = { engine: "", frames: 0, decodeMs: [], initMs: 0 };

  function cameraError(err) {
    var name = err && err.name;
    if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") return "denied";
    if (name === "NotFoundError" || name === "DevicesNotFoundError" || name === "OverconstrainedError") return "absent";
    if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") return "busy";
    return "failed";
  }

  async function openStream() {
    var wanted = { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 },
                   frameRate: { ideal: 15, max: 15 } };
    try {
      return await navigator.mediaDevices.getUserMedia({ audio: false, video: wanted });
    } catch (err) {
      if (err && err.name !== "OverconstrainedError") throw err;
      return navigator.mediaDevices.getUserMedia({ audio: false, video: { facingMode: "environment" } });
    }
  }

  // --- decoders: each is a function(video) → Promise<string|null> ---------------------------------
  async function nativeDecoder() {
    if (!("BarcodeDetector" in window)) return null;
    try {
      var formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.indexOf("qr_code") < 0) return null;
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      stats.engine = "BarcodeDetector";
      return async function (video) {
        var t0 = performance.now();
        var codes = await detector.detect(video);
        stats.decodeMs.push(performance.now() - t0);
        return codes.length ? codes[0].rawValue : null;
      };
    } catch (e) {
      return null;
    }
  }

  function workerDecoder() {
    var worker = new Worker(WORKER_URL);
    var pending = {}, seq = 0;
    var canvas = document.createElement("canvas");
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    worker.onmessage = function (ev) {
      var done = pending[ev.data.id];
      delete pending[ev.data.id];
      if (done) done(ev.data);
    };
    function ask(message, transfer) {
      return new Promise(function (resolve, reject) {
        var id = message.id;
        pending[id] = function (answer) { if (answer.error) reject(new Error(answer.error)); else resolve(answer); };
        worker.onerror = function (ev) { delete pending[id]; reject(new Error(ev.message || "worker failed")); };
        worker.postMessage(message, transfer || []);
      });
    }
    var t0 = performance.now();
    var ready = ask({ id: "warm" }).then(function () { stats.initMs = performance.now() - t0; });
    stats.engine = "zxing-wasm";
    var decode = async function (video) {
      await ready;
      var vw = video.videoWidth, vh = video.videoHeight;
      if (!vw || !vh) return null;
      var scale = Math.min(1, MAX_SIDE / Math.max(vw, vh));
      var w = Math.round(vw * scale), h = Math.round(vh * scale);
      if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
      ctx.drawImage(video, 0, 0, w, h);
      var image = ctx.getImageData(0, 0, w, h);
      seq += 1;
      var answer = await ask({ id: seq, image: image }, [image.data.buffer]);
      stats.decodeMs.push(answer.ms);
      return answer.text;
    };
    decode.ready = ready;
    decode.stop = function () { worker.terminate(); };
    return decode;
  }

  // --- the camera ---------------------------------------------------------------------------------
  function Camera(video, handlers) {
    this.video = video;
    this.onCode = handlers.onCode;
    this.onState = handlers.onState || function () {};
    this.stream = null;
    this.track = null;
    this.decode = null;
    this.paused = false;
    this.timer = null;
  }

  Camera.prototype.start = async function () {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      this.onState(window.isSecureContext ? "absent" : "insecure");
      return false;
    }
    this.stop();  // a restart (retry, page shown again) must not leave the old stream running
    this.onState("starting");
    try {
      this.stream = await openStream();
    } catch (err) {
      this.onState(cameraError(err), err);
      return false;
    }
    this.track = this.stream.getVideoTracks()[0];
    this.video.srcObject = this.stream;
    try { await this.video.play(); } catch (e) { /* autoplay of a muted video is allowed; ignore */ }
    if (!this.decode) {
      this.decode = (await nativeDecoder()) || workerDecoder();
      if (this.decode.ready) {
        try { await this.decode.ready; } catch (err) { this.stop(); this.onState("scanner_failed", err); return false; }
      }
    }
    this.onState("scanning");
    this.loop();
    return true;
  };

  Camera.prototype.loop = function () {
    var self = this;
    clearTimeout(this.timer);
    if (!this.stream) return;
    this.timer = setTimeout(async function () {
      if (!self.stream) return;
      if (self.paused || self.video.readyState < 2) { self.loop(); return; }
      var text = null;
      try { text = await self.decode(self.video); stats.frames += 1; } catch (e) { text = null; }
      if (text && self.stream && !self.paused) self.onCode(text);
      self.loop();
    }, FRAME_GAP_MS);
  };

  Camera.prototype.pause = function () { this.paused = true; };
  Camera.prototype.resume = function () { this.paused = false; };

  Camera.prototype.stop = function () {
    clearTimeout(this.timer);
    if (this.stream) this.stream.getTracks().forEach(function (t) { t.stop(); });
    this.stream = null; this.track = null;
    this.video.srcObject = null;
  };

  Camera.prototype.hasTorch = function () {
    var caps = this.track && this.track.getCapabilities ? this.track.getCapabilities() : {};
    return !!caps.torch;
  };

  Camera.prototype.setTorch = function (on) {
    return this.track.applyConstraints({ advanced: [{ torch: !!on }] });
  };

  // --- feedback: a short beep (WebAudio, no file) and a buzz --------------------------------------
  var audio = null;
  function unlockAudio() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!audio && Ctx) { try { audio = new Ctx(); } catch (e) { audio = null; } }
    if (audio && audio.state === "suspended") audio.resume().catch(function () {});
  }
  // Browsers only let a page make sound after the user touched it.
  document.addEventListener("pointerdown", unlockAudio, { passive: true });
  document.addEventListener("keydown", unlockAudio);

  function beep() {
    if (navigator.vibrate) { try { navigator.vibrate(60); } catch (e) { /* not on this phone */ } }
    if (!audio || audio.state !== "running") return;
    var t = audio.currentTime, osc = audio.createOscillator(), gain = audio.createGain();
    osc.type = "sine"; osc.frequency.value = 1760;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.25, t + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.12);
    osc.connect(gain); gain.connect(audio.destination);
    osc.start(t); osc.stop(t + 0.13);
  }

  window.SalesgateCamera = {
    create: function (video, handlers) { return new Camera(video, handlers); },
    beep: beep, stats: stats,
  };
})();
