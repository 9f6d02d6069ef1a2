// The upload page: drop or pick videos; each becomes a job (POST /jobs, keep_upload=true) with upload
// progress, then analysis progress; one file opens its result page as soon as it is accepted.
"use strict";
(function () {
  const form = document.getElementById("upload");
  const input = document.getElementById("files");
  const queue = document.getElementById("queue");
  const section = document.getElementById("queue-section");
  const maxBytes = Number(form.dataset.maxBytes);

  function megabytes(n) { return (n / 1048576).toFixed(1); }

  function row(file) {
    const li = document.createElement("li");
    li.className = "upload-row";
    const name = document.createElement("span");
    name.className = "filename";
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Upload of " + file.name);
    const status = document.createElement("p");
    status.setAttribute("role", "status");
    status.textContent = "Starting the upload…";
    li.append(name, bar, status);
    queue.prepend(li);
    return {
      progress: function (percent, text) { bar.value = percent; status.textContent = text; },
      fail: function (text) {
        bar.remove();
        status.setAttribute("role", "alert");
        status.className = "error";
        status.textContent = text;
      },
      done: function (job, text) {
        bar.value = 100;
        status.textContent = "";
        const link = document.createElement("a");
        link.href = DFD.root + "/ui/jobs/" + job.id;
        link.textContent = text;
        status.append(link);
      },
    };
  }

  function poll(job, r) {
    DFD.getJson("/jobs/" + job.id).then(function (current) {
      if (current.state === "succeeded") {
        const p = current.fake_probability;
        const verdict = current.prediction === "NO_FACE" ? "no face found" : current.prediction + (p == null ? "" : " (P(fake) " + p.toFixed(2) + ")");
        r.done(current, "Done: " + verdict + ". See the evidence");
      } else if (current.state === "failed") {
        r.fail(DFD.problemMessage(current.error && current.error.status, current.error));
      } else if (current.state === "cancelled") {
        r.fail("This analysis was cancelled.");
      } else {
        const [percent, text] = DFD.progress(current.progress);
        r.progress(percent, text);
        setTimeout(poll, 1000, current, r);
      }
    }).catch(function (error) {
      r.progress(0, error.message + " Retrying…");
      setTimeout(poll, 3000, job, r);
    });
  }

  function upload(file, openWhenAccepted) {
    const r = row(file);
    if (file.size > maxBytes) {
      r.fail(DFD.human("media-too-large", "the file is " + megabytes(file.size) + " MB; the limit is " + form.dataset.maxMb + " MB"));
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open("POST", DFD.root + "/jobs");
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) {
        const percent = Math.round((100 * e.loaded) / e.total);
        r.progress(percent, "Uploading: " + percent + "% of " + megabytes(e.total) + " MB");
      }
    };
    xhr.onload = function () {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
      if (xhr.status === 202 && body) {
        r.progress(0, "Uploaded. Waiting for the analysis…");
        if (openWhenAccepted) {
          window.location.assign(DFD.root + "/ui/jobs/" + body.id);
        } else {
          poll(body, r);
        }
      } else {
        r.fail(DFD.problemMessage(xhr.status, body, xhr.getResponseHeader("Retry-After")));
      }
    };
    xhr.onerror = function () { r.fail(DFD.human("network")); };
    const data = new FormData();
    data.append("file", file, file.name);
    data.append("keep_upload", "true");
    xhr.send(data);
  }

  function take(fileList) {
    const files = Array.from(fileList || []);
    if (!files.length) return;
    section.hidden = false;
    files.forEach(function (file) { upload(file, files.length === 1); });
  }

  input.addEventListener("change", function () { take(input.files); input.value = ""; });
  ["dragenter", "dragover"].forEach(function (type) {
    form.addEventListener(type, function (e) { e.preventDefault(); form.classList.add("dragover"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    form.addEventListener(type, function (e) { e.preventDefault(); form.classList.remove("dragover"); });
  });
  form.addEventListener("drop", function (e) { take(e.dataTransfer.files); });
  // A file dropped next to the zone must not make the browser navigate away to it.
  window.addEventListener("dragover", function (e) { e.preventDefault(); });
  window.addEventListener("drop", function (e) { e.preventDefault(); });
  form.addEventListener("submit", function (e) { e.preventDefault(); });
})();
