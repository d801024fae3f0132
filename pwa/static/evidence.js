// Upload a screenshot backing a contribution or a check-in (POST /api/v1/evidence, multipart).
// The server decides the type by the bytes and answers with the attachment; errors come back as sentences.
(function () {
  "use strict";
  async function upload(file) {
    var sg = window.salesgate;
    var form = new FormData();
    form.append("file", file, file.name || "screenshot");
    var headers = { "Accept": "application/json", "Idempotency-Key": sg.uuid() };
    var csrf = sg.cookie("sg_csrf");
    if (csrf) headers["X-CSRF-Token"] = csrf;
    var resp;
    try {
      resp = await fetch("/api/v1/evidence", { method: "POST", body: form, headers: headers, credentials: "same-origin" });
    } catch (e) {
      throw new Error(sg.T.offline || "offline");
    }
    var data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    if (!resp.ok) throw new Error(sg.errorText(data));
    return data;
  }
  window.sgEvidence = { upload: upload };
})();
