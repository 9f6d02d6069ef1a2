// The result page: progress while the job runs (then a reload shows the server-rendered result), and on
// a result: face boxes over the playing video, the timeline's points, explanations on demand, delete.
"use strict";
(function () {
  const page = document.getElementById("job");
  if (!page) return;
  const id = page.dataset.jobId;
  const svgNS = "http://www.w3.org/2000/svg";

  // ---- while queued / running
  if (page.dataset.state === "queued" || page.dataset.state === "running") {
    const bar = document.getElementById("progress");
    const stage = document.getElementById("stage");
    const steps = document.querySelectorAll(".stages li");
    const tick = function () {
      DFD.getJson("/jobs/" + id).then(function (job) {
        if (job.state !== "queued" && job.state !== "running") {
          window.location.reload();
          return;
        }
        const [percent, text] = DFD.progress(job.progress);
        bar.value = percent;
        bar.textContent = percent + "%";
        stage.textContent = text;
        let reached = true;
        steps.forEach(function (li) {
          const current = li.dataset.stage === job.progress.stage;
          li.classList.toggle("current", current);
          li.classList.toggle("past", reached && !current);
          if (current) { li.setAttribute("aria-current", "step"); reached = false; } else { li.removeAttribute("aria-current"); }
        });
        setTimeout(tick, 700);
      }).catch(function (error) {
        stage.textContent = error.message;
        setTimeout(tick, 3000);
      });
    };
    tick();
    return;
  }

  const dataNode = document.getElementById("overlay-data");
  const data = dataNode ? JSON.parse(dataNode.textContent) : null;

  // ---- face boxes over the video
  const video = document.getElementById("video");
  const boxes = document.getElementById("boxes");
  const byTime = new Map(); // analysed timestamp -> [{face, obs}]
  if (data) {
    data.faces.forEach(function (face) {
      face.obs.forEach(function (o) {
        if (!byTime.has(o.t)) byTime.set(o.t, []);
        byTime.get(o.t).push({ face: face, obs: o });
      });
    });
  }
  const times = Array.from(byTime.keys()).sort(function (a, b) { return a - b; });
  const frameTime = data && data.fps ? 1 / data.fps : 0.04;
  let gap = frameTime;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i] - times[i - 1]);

  function nearest(t) {
    let best = null;
    times.forEach(function (ts) { if (best === null || Math.abs(ts - t) < Math.abs(best - t)) best = ts; });
    return best;
  }

  function drawBoxes(t) {
    if (!boxes || !data) return;
    boxes.replaceChildren();
    const ts = nearest(t);
    if (ts === null || Math.abs(ts - t) > gap / 2 + frameTime) return;
    const exact = Math.abs(ts - t) <= frameTime / 2 + 1e-3;
    const unit = data.width / 320;
    byTime.get(ts).forEach(function (item) {
      const [x1, y1, x2, y2] = item.obs.box;
      const rect = document.createElementNS(svgNS, "rect");
      rect.setAttribute("x", x1); rect.setAttribute("y", y1);
      rect.setAttribute("width", x2 - x1); rect.setAttribute("height", y2 - y1);
      rect.setAttribute("class", "box" + (exact ? " exact" : ""));
      rect.style.setProperty("--face", item.face.colour);
      rect.style.strokeWidth = unit;
      const label = document.createElementNS(svgNS, "text");
      label.setAttribute("x", x1);
      label.setAttribute("y", Math.max(y1 - unit * 2, unit * 8));
      label.setAttribute("class", "box-label");
      label.style.fontSize = unit * 8 + "px";
      label.style.setProperty("--face", item.face.colour);
      label.textContent = "Face " + item.face.id + " · " + item.obs.p.toFixed(2);
      boxes.append(rect, label);
    });
  }

  if (video) {
    if ("requestVideoFrameCallback" in video) {
      const onFrame = function (now, meta) { drawBoxes(meta.mediaTime); video.requestVideoFrameCallback(onFrame); };
      video.requestVideoFrameCallback(onFrame);
    }
    ["timeupdate", "seeked", "loadeddata"].forEach(function (type) {
      video.addEventListener(type, function () { drawBoxes(video.currentTime); });
    });
    video.addEventListener("error", function () { document.getElementById("video-error").hidden = false; });
  }

  // ---- the timeline: a point shows that frame's crop and moves the video there
  const detail = document.getElementById("frame-detail");
  const points = Array.from(document.querySelectorAll(".timeline .pt[role=button]"));
  function select(point) {
    const track = point.dataset.track, frame = point.dataset.frame, t = Number(point.dataset.t);
    const p = Number(point.dataset.p);
    points.forEach(function (other) { other.classList.toggle("selected", other === point); other.setAttribute("aria-pressed", other === point ? "true" : "false"); });
    detail.hidden = false;
    const img = document.getElementById("frame-crop");
    img.src = DFD.root + "/jobs/" + id + "/faces/" + track + "/crop?frame=" + frame;
    img.alt = "Face " + track + " in frame " + frame;
    document.getElementById("frame-caption").textContent =
      "Face " + track + ", frame " + frame + " at " + t.toFixed(2) + " s: P(fake) " + p.toFixed(2) + ".";
    if (video && video.readyState > 0) {
      video.pause();
      video.currentTime = t + frameTime / 2;
    }
    drawBoxes(t);
  }
  function move(point, dx, dy) {
    const series = Array.from(document.querySelectorAll(".timeline .series"));
    const group = point.closest(".series");
    let target = null;
    if (dx) {
      const mine = Array.from(group.querySelectorAll(".pt"));
      target = mine[mine.indexOf(point) + dx];
    } else {
      const other = series[series.indexOf(group) + dy];
      if (other) {
        const t = Number(point.dataset.t);
        Array.from(other.querySelectorAll(".pt")).forEach(function (q) {
          if (!target || Math.abs(Number(q.dataset.t) - t) < Math.abs(Number(target.dataset.t) - t)) target = q;
        });
      }
    }
    if (target) {
      point.setAttribute("tabindex", "-1");
      target.setAttribute("tabindex", "0");
      target.focus();
    }
  }
  points.forEach(function (point) {
    point.addEventListener("click", function () { select(point); });
    point.addEventListener("keydown", function (e) {
      const keys = { ArrowRight: [1, 0], ArrowLeft: [-1, 0], ArrowDown: [0, 1], ArrowUp: [0, -1] };
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(point); }
      else if (keys[e.key]) { e.preventDefault(); move(point, keys[e.key][0], keys[e.key][1]); }
    });
  });

  // ---- where the model looked (GET /jobs/{id}/faces/{track}/explain), on demand
  function figure(track, frame, layer) {
    const fig = document.createElement("figure");
    fig.className = "heat";
    const img = document.createElement("img");
    img.src = frame.heatmap;
    img.width = 120; img.height = 120;
    img.alt = "Heatmap over face " + track + " in frame " + frame.frame_index + ": red areas raised P(fake)";
    const caption = document.createElement("figcaption");
    caption.textContent = frame.timestamp_s.toFixed(2) + " s · P(fake) " + frame.fake_probability.toFixed(2);
    fig.append(img, caption);
    return fig;
  }
  function explain(button) {
    const track = button.dataset.track;
    const box = document.getElementById("explain-" + track);
    if (button.getAttribute("aria-expanded") === "true") {
      box.hidden = true;
      button.setAttribute("aria-expanded", "false");
      return;
    }
    button.setAttribute("aria-expanded", "true");
    box.hidden = false;
    if (box.dataset.loaded) return;
    button.disabled = true;
    box.textContent = "Computing where the model looked…";
    DFD.getJson("/jobs/" + id + "/faces/" + track + "/explain").then(function (result) {
      box.replaceChildren();
      const note = document.createElement("p");
      note.className = "hint";
      note.textContent = "Its " + result.frames.length + " most suspicious frames. Grad-CAM (" + result.layer + "): red marks what raised P(fake) in that frame.";
      const row = document.createElement("div");
      row.className = "heat-row";
      result.frames.forEach(function (frame) { row.append(figure(track, frame, result.layer)); });
      box.append(row, note);
      box.dataset.loaded = "1";
    }).catch(function (error) {
      box.textContent = error.message;
      button.setAttribute("aria-expanded", "false");
    }).finally(function () { button.disabled = false; });
  }
  document.querySelectorAll("button.explain").forEach(function (button) {
    button.addEventListener("click", function () { explain(button); });
    if (button.hasAttribute("data-auto")) explain(button);
  });

  // ---- delete
  const remove = document.getElementById("delete");
  if (remove) {
    remove.addEventListener("click", function () {
      if (!window.confirm("Delete this analysis and its video from the server?")) return;
      fetch(DFD.root + "/jobs/" + id, { method: "DELETE", credentials: "same-origin" }).then(function (r) {
        if (r.ok) window.location.assign(DFD.root + "/ui/history");
      });
    });
  }
})();
