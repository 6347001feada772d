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

// Draw boxes and "label 0.97" captions; sx, sy map answer pixels to canvas pixels.
function drawDetections(ctx, detections, sx, sy) {
  const line = Math.max(2, Math.round(ctx.canvas.width / 320));
  ctx.lineWidth = line;
  ctx.font = `${Math.max(12, Math.round(ctx.canvas.width / 45))}px system-ui, sans-serif`;
  ctx.textBaseline = "bottom";
  for (const d of detections) {
    const [x1, y1, x2, y2] = d.box;
    const x = x1 * sx, y = y1 * sy, w = (x2 - x1) * sx, h = (y2 - y1) * sy;
    const colour = colourFor(d.label);
    ctx.strokeStyle = colour;
    ctx.strokeRect(x, y, w, h);
    const caption = `${d.label ?? "face"} ${d.confidence !== undefined ? d.confidence.toFixed(2) : ""}`;
    const tw = ctx.measureText(caption).width + 6;
    const th = parseInt(ctx.font, 10) + 4;
    const ty = y - th < 0 ? y + h + th : y;
    ctx.fillStyle = colour;
    ctx.fillRect(x - line / 2, ty - th, tw, th);
    ctx.fillStyle = "#000";
    ctx.fillText(caption, x + 3 - line / 2, ty - 2);
  }
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

// ---------------------------------------------------------------- upload mode
const uploadStatus = $("upload-status");
const resultCanvas = $("result-canvas");
const resultVideo = $("result-video");
const resultJson = $("result-json");
const downloadMedia = $("download-media");
const downloadJson = $("download-json");
let objectUrls = [];

function setUploadStatus(text, isError = false) {
  uploadStatus.textContent = text;
  uploadStatus.classList.toggle("error", isError);
}

function keepUrl(blob) {
  const url = URL.createObjectURL(blob);
  objectUrls.push(url);
  return url;
}

function resetResult() {
  for (const url of objectUrls) URL.revokeObjectURL(url);
  objectUrls = [];
  for (const el of [resultCanvas, resultVideo, resultJson, downloadMedia, downloadJson]) el.hidden = true;
  $("upload-counts").replaceChildren();
}

async function refusal(response) {
  try {
    const body = await response.json();
    return `${body.detail} (${body.error}, HTTP ${response.status})`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

function showCounts(counts) {
  $("upload-counts").replaceChildren(
    ...Object.entries(counts).map(([label, n]) => {
      const span = document.createElement("span");
      span.className = `count ${label}`;
      span.innerHTML = `<b></b> ${label.replaceAll("_", " ")}`;
      span.querySelector("b").textContent = String(n);
      return span;
    }),
  );
}

function stem(name) {
  return name.replace(/\.[^.]+$/, "") || "upload";
}

async function uploadImage(file) {
  const form = new FormData();
  form.append("file", file);
  const response = await fetch("/api/v1/detect", { method: "POST", headers: authHeaders(), body: form });
  if (!response.ok) throw new Error(await refusal(response));
  const result = await response.json();
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  resultCanvas.width = result.width;
  resultCanvas.height = result.height;
  const ctx = resultCanvas.getContext("2d");
  ctx.drawImage(bitmap, 0, 0, result.width, result.height);
  drawDetections(ctx, result.detections, 1, 1);
  resultCanvas.hidden = false;
  showCounts(countLabels(result.detections));
  const jpeg = await new Promise((resolve) => resultCanvas.toBlob(resolve, "image/jpeg", 0.92));
  downloadMedia.href = keepUrl(jpeg);
  downloadMedia.download = `${stem(file.name)}_annotated.jpg`;
  downloadMedia.hidden = false;
  const json = JSON.stringify(result, null, 2);
  downloadJson.href = keepUrl(new Blob([json + "\n"], { type: "application/json" }));
  downloadJson.download = `${stem(file.name)}.json`;
  downloadJson.textContent = "Download JSON";
  downloadJson.hidden = false;
  resultJson.textContent = json;
  resultJson.hidden = false;
  return `${result.detections.length} face(s) found`;
}

async function fetchBlob(url) {
  const response = await fetch(url, { headers: authHeaders() });
  if (!response.ok) throw new Error(await refusal(response));
  return response.blob();
}

async function uploadVideo(file) {
  const form = new FormData();
  form.append("file", file);
  const response = await fetch("/api/v1/video", { method: "POST", headers: authHeaders(), body: form });
  if (!response.ok) throw new Error(await refusal(response));
  const result = await response.json();
  const [mp4, jsonl] = await Promise.all([fetchBlob(result.video_url), fetchBlob(result.jsonl_url)]);
  resultVideo.src = keepUrl(mp4);
  resultVideo.hidden = false;
  downloadMedia.href = resultVideo.src;
  downloadMedia.download = `${stem(file.name)}_annotated.mp4`;
  downloadMedia.hidden = false;
  downloadJson.href = keepUrl(jsonl);
  downloadJson.download = `${stem(file.name)}.jsonl`;
  downloadJson.textContent = "Download JSONL";
  downloadJson.hidden = false;
  showCounts(result.counts);
  resultJson.textContent = JSON.stringify(result, null, 2);
  resultJson.hidden = false;
  return `${result.frames} frame(s) processed`;
}

$("upload-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("file").files[0];
  if (!file) {
    setUploadStatus("Choose an image or a short video first.", true);
    return;
  }
  resetResult();
  $("send").disabled = true;
  const isVideo = file.type.startsWith("video/");
  setUploadStatus(isVideo ? "Processing video… (this can take a while)" : "Detecting…");
  try {
    setUploadStatus(isVideo ? await uploadVideo(file) : await uploadImage(file));
  } catch (err) {
    setUploadStatus(err.message, true);
  } finally {
    $("send").disabled = false;
  }
});
