// Badge QR decoding off the main thread with zxing-wasm (used where the browser has no
// BarcodeDetector for QR codes, e.g. Chromium on Linux, Firefox, older Safari).
// In:  {id, image: ImageData}  (its pixel buffer transferred, not copied)
// Out: {id, text: string|null, ms: number} or {id, error: string}
/* global ZXingWASM */
"use strict";
importScripts("/static/vendor/zxing-wasm/zxing-reader.js");

// The .wasm comes from the app (and the service worker's precache), never from a CDN.
// Always the same overrides object: zxing-wasm re-instantiates the module when it changes.
const WASM_URL = "/static/vendor/zxing-wasm/zxing_reader.wasm";
const OVERRIDES = { locateFile: (path, prefix) => (path.endsWith(".wasm") ? WASM_URL : prefix + path) };
ZXingWASM.prepareZXingModule({ overrides: OVERRIDES });

const OPTIONS = { formats: ["QRCode"], tryHarder: true, maxNumberOfSymbols: 1 };

self.onmessage = async (event) => {
  const { id, image } = event.data || {};
  if (id === "warm") {
    // Compile the module before the first frame arrives (a ~1 MB download, tens of ms to compile).
    try {
      await ZXingWASM.prepareZXingModule({ overrides: OVERRIDES, fireImmediately: true });
      self.postMessage({ id, ready: true });
    } catch (err) {
      self.postMessage({ id, error: String(err) });
    }
    return;
  }
  const started = performance.now();
  try {
    const results = await ZXingWASM.readBarcodes(image, OPTIONS);
    const hit = results.find((r) => r.isValid && r.text);
    self.postMessage({ id, text: hit ? hit.text : null, ms: performance.now() - started });
  } catch (err) {
    self.postMessage({ id, error: String(err), ms: performance.now() - started });
  }
};
