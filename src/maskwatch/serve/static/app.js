// maskwatch web page: live webcam detection over a WebSocket, and image/video upload.
// Plain JavaScript, no build step. The server does all detection; this file captures frames,
// sends them one at a time (the next only after the last answer: backpressure) and draws answers.
"use strict";

// Same colours as annotated images and videos (maskwatch.detect.outputs.LABEL_COLORS).
const COLOURS = {
  with_mask: "rgb(34, 197, 94)",
  without_mask: "rgb(239, 68, 68)",
  mask_weared_incorrect: "rgb(245, 158, 11)",
};
const FALLBACK_COLOURS = ["rgb(52, 152, 219)", "rgb(155, 89, 182)", "rgb(26, 188, 156)"];
const SEND_WIDTH = 640; // frames are scaled down to this width before JPEG encoding
const JPEG_QUALITY = 0.8;

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- token + tabs
const tokenInput = $("token");
tokenInput.value = sessionStorage.getItem("maskwatch-token") || "";
tokenInput.addEventListener("change", () => sessionStorage.setItem("maskwatch-token", tokenInput.value.trim()));
const token = () => tokenInput.value.trim();
const authHeaders = () => (token() ? { Authorization: `Bearer ${token()}` } : {});

for (const tab of document.querySelectorAll("nav button")) {
  tab.addEventListener("click", () => {
    for (const other of document.querySelectorAll("nav button")) {
      other.setAttribute("aria-selected", String(other === tab));
      $(other.dataset.mode).hidden = other !== tab;
    }
    if (tab.dataset.mode !== "live") stopLive();
  });
}

// ---------------------------------------------------------------- drawing
let labelSet = Object.keys(COLOURS);

function colourFor(label) {
  if (COLOURS[label]) return COLOURS[label];
  const i = Math.max(0, labelSet.indexOf(label));
  return FALLBACK_COLOURS[i % FALLBACK_COLOURS.length];
}

const SHORT = { with_mask: "mask", without_mask: "no mask", mask_weared_incorrect: "incorrect" };

// Draw boxes and captions; sx, sy map answer pixels to canvas pixels. The caption size follows
// the face (a crowd of small faces gets small tags, never taller than half the box) and the
// canvas (readable on a large one); tags stay inside the canvas. Faces too small for a readable
// tag get only their coloured box; the table below lists every face.
function drawDetections(ctx, detections, sx, sy) {
  const width = ctx.canvas.width, height = ctx.canvas.height;
  const line = Math.max(1.5, Math.min(4, width / 400));
  const maxFont = Math.max(12, Math.round(width / 60));
  ctx.lineWidth = line;
  ctx.textBaseline = "bottom";
  detections.forEach((d, i) => {
    const [x1, y1, x2, y2] = d.box;
    const x = x1 * sx, y = y1 * sy, w = (x2 - x1) * sx, h = (y2 - y1) * sy;
    const colour = colourFor(d.label);
    ctx.strokeStyle = colour;
    ctx.strokeRect(x, y, w, h);
    const size = Math.min(maxFont, Math.round(Math.max(w, h) * 0.45));
    if (size < 9) return;
    ctx.font = `${size}px system-ui, sans-serif`;
    const name = w > size * 6 ? SHORT[d.label] ?? d.label : "";
    const caption = `${i + 1}${name ? " " + name : ""}`;
    const tw = ctx.measureText(caption).width + 6;
    const th = size + 4;
    const tx = Math.min(Math.max(0, x - line / 2), width - tw);
    const ty = y - th < 0 ? Math.min(height, y + h + th) : y;
    ctx.fillStyle = colour;
    ctx.fillRect(tx, ty - th, tw, th);
    ctx.fillStyle = "#000";
    ctx.fillText(caption, tx + 3, ty - 2);
  });
}

function countLabels(detections) {
  const counts = {};
  for (const label of labelSet) counts[label] = 0;
  for (const d of detections) counts[d.label] = (counts[d.label] || 0) + 1;
  return counts;
}

// The last answer, readable from the DOM (tests and assistive tech): one <li> per face.
function showDetectionList(list, detections) {
  list.replaceChildren(
    ...detections.map((d) => {
      const li = document.createElement("li");
      li.dataset.label = d.label;
      li.dataset.confidence = String(d.confidence);
      li.dataset.box = d.box.join(",");
      li.textContent = `${d.label} ${(d.confidence * 100).toFixed(0)}% at [${d.box.map(Math.round).join(", ")}]`;
      return li;
    }),
  );
}

// ---------------------------------------------------------------- live mode
const video = $("video");
const overlay = $("overlay");
const status = $("status");
const detectionList = $("detections");
const grab = document.createElement("canvas");
let stream = null;
let ws = null;
let running = false;
let answered = 0;
let answerTimes = [];
let retryTimer = null;
let liveHistory = []; // {t: seconds since start, counts} per answered frame, last LIVE_SPAN s
let liveStart = null;
const LIVE_SPAN = 60;

function setStatus(text, state) {
  status.textContent = text;
  status.dataset.state = state;
}

async function startLive() {
  if (running) return;
  if (!navigator.mediaDevices?.getUserMedia) {
    setStatus("This browser cannot open a camera here (it needs HTTPS or localhost).", "error");
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" },
      audio: false,
    });
  } catch (err) {
    setStatus(`Camera refused: ${err.message || err.name}`, "error");
    return;
  }
  video.srcObject = stream;
  await video.play();
  running = true;
  $("start").disabled = true;
  $("stop").disabled = false;
  connect();
}

function stopLive() {
  running = false;
  clearTimeout(retryTimer);
  if (ws) ws.close();
  ws = null;
  if (stream) for (const track of stream.getTracks()) track.stop();
  stream = null;
  video.srcObject = null;
  overlay.getContext("2d").clearRect(0, 0, overlay.width, overlay.height);
  $("start").disabled = false;
  $("stop").disabled = true;
  setStatus("Camera off", "idle");
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  setStatus("Connecting…", "connecting");
  ws = new WebSocket(`${scheme}://${location.host}/api/v1/live`);
  ws.binaryType = "arraybuffer";
  // Authenticate in the first message (not the URL, which may end up in logs).
  ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: token() }));
  ws.onmessage = (event) => onAnswer(JSON.parse(event.data));
  ws.onclose = () => {
    if (running && status.dataset.state !== "error") {
      setStatus("Disconnected; reconnecting…", "connecting");
      retryTimer = setTimeout(() => running && connect(), 2000);
    }
  };
}

function onAnswer(msg) {
  if (msg.type === "ready") {
    labelSet = msg.labels;
    setStatus("Live", "live");
    sendFrame();
  } else if (msg.type === "detections") {
    answered += 1;
    const now = performance.now();
    answerTimes.push(now);
    answerTimes = answerTimes.filter((t) => now - t < 3000);
    const seconds = answerTimes.length > 1 ? (now - answerTimes[0]) / 1000 : 0;
    $("fps").textContent = seconds > 0 ? ((answerTimes.length - 1) / seconds).toFixed(1) : "0.0";
    for (const [label, n] of Object.entries(msg.counts)) {
      const el = $(`count-${label}`);
      if (el) el.textContent = String(n);
    }
    drawLive(msg);
    if (liveStart === null) liveStart = now;
    const t = (now - liveStart) / 1000;
    liveHistory.push({ t, counts: msg.counts });
    liveHistory = liveHistory.filter((p) => t - p.t <= LIVE_SPAN);
    drawCountChart($("live-chart"), liveHistory, labelSet, colourFor, { span: LIVE_SPAN });
    showDetectionList(detectionList, msg.detections);
    detectionList.dataset.frames = String(answered);
    sendFrame();
  } else if (msg.type === "busy") {
    retryTimer = setTimeout(sendFrame, (msg.retry_after || 1) * 1000);
  } else if (msg.type === "error") {
    if (msg.error === "unauthorized") {
      stopLive();
      $("settings").open = true;
      setStatus("This server needs an access token: enter it under Token, then start again.", "error");
    } else {
      setStatus(`Frame refused: ${msg.detail}`, "live");
      retryTimer = setTimeout(sendFrame, 500);
    }
  }
}

function drawLive(msg) {
  overlay.width = video.videoWidth || msg.width;
  overlay.height = video.videoHeight || msg.height;
  const ctx = overlay.getContext("2d");
  ctx.clearRect(0, 0, overlay.width, overlay.height);
  drawDetections(ctx, msg.detections, overlay.width / msg.width, overlay.height / msg.height);
}

function sendFrame() {
  if (!running || !ws || ws.readyState !== WebSocket.OPEN) return;
  if (!video.videoWidth) {
    retryTimer = setTimeout(sendFrame, 100);
    return;
  }
  const scale = Math.min(1, SEND_WIDTH / video.videoWidth);
  grab.width = Math.round(video.videoWidth * scale);
  grab.height = Math.round(video.videoHeight * scale);
  grab.getContext("2d").drawImage(video, 0, 0, grab.width, grab.height);
  grab.toBlob(
    (blob) => {
      if (blob && running && ws && ws.readyState === WebSocket.OPEN) ws.send(blob);
    },
    "image/jpeg",
    JPEG_QUALITY,
  );
}

$("start").addEventListener("click", startLive);
$("stop").addEventListener("click", stopLive);
