// maskwatch web page: a small line chart of faces per label over time, drawn on a <canvas>.
// Used by the live view (rolling last minute) and by video results (the whole clip, from the JSONL).
// No chart library: three lines, two axes and a legend are a few dozen lines of canvas code.
"use strict";

// points: [{t: seconds, counts: {label: n}}], sorted by t; colours: label -> CSS colour.
function drawCountChart(canvas, points, labels, colours, { span = null } = {}) {
  const ratio = pixelRatio();
  const width = Math.max(200, Math.round(canvas.clientWidth * ratio));
  const height = Math.round((canvas.clientHeight || 160) * ratio);
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, width, height);
  const pad = { left: 34 * ratio, right: 10 * ratio, top: 22 * ratio, bottom: 22 * ratio };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const font = 11 * ratio;
  ctx.font = `${font}px system-ui, sans-serif`;
  ctx.fillStyle = "#9aa0a6";
  ctx.strokeStyle = "#3a434f";
  ctx.lineWidth = 1;

  const last = points.length ? points[points.length - 1].t : 0;
  const t0 = span ? Math.max(0, last - span) : points.length ? points[0].t : 0;
  const t1 = Math.max(t0 + 1, span ? t0 + span : last);
  const shown = points.filter((p) => p.t >= t0);
  let top = 1;
  for (const p of shown) for (const label of labels) top = Math.max(top, p.counts[label] || 0);
  top = Math.ceil(top);
  const x = (t) => pad.left + ((t - t0) / (t1 - t0)) * plotW;
  const y = (n) => pad.top + plotH - (n / top) * plotH;

  // Axes: counts on the left (0, top/2, top), seconds along the bottom.
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const n of [0, Math.round(top / 2), top]) {
    ctx.beginPath();
    ctx.moveTo(pad.left, y(n));
    ctx.lineTo(pad.left + plotW, y(n));
    ctx.stroke();
    ctx.fillText(String(n), pad.left - 4 * ratio, y(n));
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const ticks = 5;
  for (let i = 0; i <= ticks; i++) {
    const t = t0 + ((t1 - t0) * i) / ticks;
    ctx.textAlign = i === 0 ? "left" : i === ticks ? "right" : "center";
    ctx.fillText(`${t.toFixed(t1 - t0 < 10 ? 1 : 0)} s`, x(t), pad.top + plotH + 4 * ratio);
  }

  // One line per label.
  ctx.lineWidth = 2 * ratio;
  for (const label of labels) {
    if (!shown.length) break;
    ctx.strokeStyle = colours(label);
    ctx.beginPath();
    shown.forEach((p, i) => {
      const px = x(p.t), py = y(p.counts[label] || 0);
      if (i === 0) ctx.moveTo(px, py);
      else ctx.lineTo(px, py);
    });
    ctx.stroke();
  }

  // Legend along the top.
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  let lx = pad.left;
  for (const label of labels) {
    ctx.fillStyle = colours(label);
    ctx.fillRect(lx, 6 * ratio, 10 * ratio, 10 * ratio);
    ctx.fillStyle = "#e8eaed";
    const text = label.replaceAll("_", " ");
    ctx.fillText(text, lx + 14 * ratio, 11 * ratio);
    lx += ctx.measureText(text).width + 28 * ratio;
  }
  canvas.dataset.points = String(shown.length);
}

function pixelRatio() {
  return Math.min(2, globalThis.devicePixelRatio || 1);
}

// JSON Lines of POST /api/v1/video -> chart points: faces per label on every frame.
function pointsFromJsonl(text) {
  const points = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    let record;
    try {
      record = JSON.parse(line);
    } catch {
      continue;
    }
    if (record.type !== "frame") continue;
    const counts = {};
    for (const d of record.detections || []) counts[d.label] = (counts[d.label] || 0) + 1;
    points.push({ t: record.time, counts });
  }
  return points;
}
