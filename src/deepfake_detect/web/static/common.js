// Shared by the page's scripts: the root path, errors in words, stage names. Plain ES2017, no build step.
"use strict";
window.DFD = (function () {
  const root = document.body.dataset.root || "";
  const messages = JSON.parse(document.getElementById("messages").textContent);
  const slugByStatus = { 401: "unauthorized", 413: "media-too-large", 415: "unsupported-media", 429: "rate-limited", 503: "overloaded" };

  // The server's table (web/messages.py), filled in the same way.
  function human(slug, detail, retryAfter) {
    const template = messages[slug] || messages["default"];
    const text = String(detail || "unknown error").replace(/\.$/, "");
    return template.replace("{detail}", text).replace("{retry}", String(retryAfter || 5));
  }

  // A problem+json answer (or any error answer) in words.
  function problemMessage(status, body, retryAfter) {
    const slug = body && body.type ? String(body.type).split(":").pop() : slugByStatus[status] || "default";
    const detail = (body && (body.detail || body.title)) || "the server answered HTTP " + status;
    return human(slug, detail, retryAfter);
  }

  const stages = {
    queued: [0, 0, function () { return "Waiting for a free worker…"; }],
    decode: [0, 20, function (d, n) { return "Reading frames from the video (" + n + " to sample)…"; }],
    detect: [20, 65, function (d, n) { return "Finding faces in " + n + " frames…"; }],
    crop: [65, 70, function (d, n) { return "Cutting crops of " + n + " face" + (n === 1 ? "" : "s") + "…"; }],
    classify: [70, 99, function (d, n) { return "Scoring " + n + " face" + (n === 1 ? "" : "s") + "…"; }],
    done: [100, 100, function () { return "Done."; }],
  };

  // {stage, done, total} -> [percent, sentence]
  function progress(p) {
    const s = stages[p.stage] || stages.queued;
    const within = p.total ? p.done / p.total : 0;
    return [Math.round(s[0] + (s[1] - s[0]) * within), s[2](p.done, p.total)];
  }

  function localTimes(scope) {
    (scope || document).querySelectorAll("time[datetime]").forEach(function (el) {
      const when = new Date(el.dateTime);
      if (!isNaN(when)) {
        el.title = el.textContent;
        el.textContent = when.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
      }
    });
  }

  async function getJson(url, options) {
    const response = await fetch(root + url, Object.assign({ credentials: "same-origin" }, options || {}));
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) {
      const error = new Error(problemMessage(response.status, body, response.headers.get("Retry-After")));
      error.status = response.status;
      throw error;
    }
    return body;
  }

  localTimes();
  return { root: root, human: human, problemMessage: problemMessage, progress: progress, getJson: getJson };
})();
