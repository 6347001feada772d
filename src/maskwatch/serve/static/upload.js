// maskwatch web page, upload mode: an image or a short video in, the annotated result, a table of
// the faces (images) or people (videos), a chart over time (videos) and downloads. Loaded after
// app.js, whose helpers (drawing, colours, token) it uses.
"use strict";

const uploadStatus = $("upload-status");
const resultCanvas = $("result-canvas");
const resultVideo = $("result-video");
const resultJson = $("result-json");
const resultTable = $("result-table");
const rawBox = $("raw");
const uploadChartBox = $("upload-chart-box");
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
  for (const el of [resultCanvas, resultVideo, rawBox, resultTable, uploadChartBox, downloadMedia, downloadJson]) {
    el.hidden = true;
  }
  $("upload-counts").replaceChildren();
  resultTable.tHead.replaceChildren();
  resultTable.tBodies[0].replaceChildren();
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

// A table of rows (arrays of cells; a cell is text, or {label} for a coloured class name).
function showTable(header, rows) {
  const head = document.createElement("tr");
  for (const h of header) {
    const th = document.createElement("th");
    th.textContent = h;
    head.append(th);
  }
  resultTable.tHead.replaceChildren(head);
  resultTable.tBodies[0].replaceChildren(
    ...rows.map((cells) => {
      const tr = document.createElement("tr");
      for (const cell of cells) {
        const td = document.createElement("td");
        if (cell && typeof cell === "object") {
          const swatch = document.createElement("span");
          swatch.className = "swatch";
          swatch.style.background = colourFor(cell.label);
          td.append(swatch, cell.label.replaceAll("_", " "));
          tr.dataset.label = cell.label;
        } else {
          td.textContent = String(cell);
        }
        tr.append(td);
      }
      return tr;
    }),
  );
  resultTable.hidden = false;
}

function showRaw(result) {
  resultJson.textContent = JSON.stringify(result, null, 2);
  rawBox.hidden = false;
}

function stem(name) {
  return name.replace(/\.[^.]+$/, "") || "upload";
}

// One upload for both endpoints: the file as multipart "file", the token if any; a refusal
// becomes an Error carrying the API's message.
async function postFile(url, file) {
  const form = new FormData();
  form.append("file", file);
  const response = await fetch(url, { method: "POST", headers: authHeaders(), body: form });
  if (!response.ok) throw new Error(await refusal(response));
  return response.json();
}

async function uploadImage(file) {
  const result = await postFile("/api/v1/detect", file);
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  // Drawn at the width it is shown at (device pixels), whatever the photo's size: a 400 px
  // photo fills the page, a 40 Mpx one is not drawn at 7000 px.
  resultCanvas.hidden = false;
  const shownWidth = Math.round($("result").clientWidth * Math.min(2, window.devicePixelRatio || 1));
  const scale = shownWidth / result.width;
  resultCanvas.width = shownWidth;
  resultCanvas.height = Math.round(result.height * scale);
  const ctx = resultCanvas.getContext("2d");
  ctx.drawImage(bitmap, 0, 0, resultCanvas.width, resultCanvas.height);
  drawDetections(ctx, result.detections, scale, scale);
  resultCanvas.dataset.scale = String(scale);
  showCounts(countLabels(result.detections));
  showTable(
    ["#", "label", "confidence", "box (x1, y1, x2, y2)", "face score"],
    result.detections.map((d, i) => [
      i + 1,
      { label: d.label },
      `${(d.confidence * 100).toFixed(1)} %`,
      d.box.map(Math.round).join(", "),
      d.face_score !== undefined ? d.face_score.toFixed(2) : "",
    ]),
  );
  const jpeg = await new Promise((resolve) => resultCanvas.toBlob(resolve, "image/jpeg", 0.92));
  downloadMedia.href = keepUrl(jpeg);
  downloadMedia.download = `${stem(file.name)}_annotated.jpg`;
  downloadMedia.hidden = false;
  const json = JSON.stringify(result, null, 2);
  downloadJson.href = keepUrl(new Blob([json + "\n"], { type: "application/json" }));
  downloadJson.download = `${stem(file.name)}.json`;
  downloadJson.textContent = "Download JSON";
  downloadJson.hidden = false;
  showRaw(result);
  return `${result.detections.length} face(s) found`;
}

async function fetchBlob(url) {
  const response = await fetch(url, { headers: authHeaders() });
  if (!response.ok) throw new Error(await refusal(response));
  return response.blob();
}

async function uploadVideo(file) {
  const result = await postFile("/api/v1/video", file);
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
  const points = pointsFromJsonl(await jsonl.text());
  uploadChartBox.hidden = false;
  drawCountChart($("upload-chart"), points, labelSet, colourFor);
  showTable(
    ["#", "label", "people"],
    Object.entries(result.counts).map(([label, n], i) => [i + 1, { label }, n]),
  );
  showRaw(result);
  const cut = result.warnings.length ? ` (${result.warnings.join("; ")})` : "";
  return `${result.frames} frame(s) processed${cut}`;
}

let uploading = false;

async function detectChosenFile() {
  if (uploading) return;
  const file = $("file").files[0];
  if (!file) {
    setUploadStatus("Choose an image or a short video first.", true);
    return;
  }
  resetResult();
  uploading = true;
  $("send").disabled = true;
  const isVideo = file.type.startsWith("video/");
  setUploadStatus(isVideo ? "Processing video… (this can take a while)" : "Detecting…");
  try {
    setUploadStatus(isVideo ? await uploadVideo(file) : await uploadImage(file));
  } catch (err) {
    setUploadStatus(err.message, true);
  } finally {
    uploading = false;
    $("send").disabled = false;
  }
}

// Detection starts as soon as a file is chosen; the button runs it again (e.g. after a token).
$("file").addEventListener("change", detectChosenFile);
$("upload-form").addEventListener("submit", (event) => {
  event.preventDefault();
  detectChosenFile();
});
