// The page of `textgru serve`: answers texts with POST /predict (a label and
// its probability, a chip per label of a multi-label model, or a regressor's
// number) and draws the update gate of each token with POST /gates. Text from the user or the
// server is only ever set as textContent, never parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
let gates = null; // the last POST /gates answer

function headers() {
  const key = $("api-key").value;
  const sent = { "Content-Type": "application/json" };
  if (key) sent["X-API-Key"] = key;
  return sent;
}

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST", headers: headers(), body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(describe(response.status, answer));
  return answer;
}

function describe(status, answer) {
  const detail = answer.detail;
  if (Array.isArray(detail)) {  // FastAPI's validation errors
    return detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
  }
  return `${status}: ${detail || "the server refused the request"}`;
}

function element(tag, className, text) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  return made;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

async function label() {
  const texts = $("texts").value.split("\n").map((t) => t.trim()).filter(Boolean);
  if (!texts.length) {
    showError("Type a text first (one per line).");
    return;
  }
  showError("");
  $("label").disabled = true;
  try {
    const answer = await post("/predict", { texts });
    showResults(answer.predictions);
    $("output").hidden = false;
    await showGates(0);
  } catch (error) {
    showError(error.message);
  } finally {
    $("label").disabled = false;
  }
}

function showResults(predictions) {
  const body = $("results").tBodies[0];
  body.replaceChildren();
  predictions.forEach((prediction, index) => {
    const row = element("tr");
    row.dataset.index = index;
    row.append(element("td", "text", prediction.text), answerCell(prediction));
    const bars = element("td", "probabilities");
    for (const [name, p] of Object.entries(prediction.probabilities || {})) {
      const bar = element("div", "bar");
      bar.dataset.label = name;
      bar.dataset.probability = p;
      const track = element("span", "track");
      const fill = element("span", "fill");
      fill.style.width = `${(100 * p).toFixed(1)}%`;
      fill.style.display = "block";
      track.append(fill);
      bar.append(element("span", "name", name), track, element("span", "value", p.toFixed(3)));
      bars.append(bar);
    }
    row.append(bars);
    row.addEventListener("click", () => showGates(index).catch((e) => showError(e.message)));
    body.append(row);
  });
}

// A text's answer: its label (a classifier), a chip per label at its
// threshold (a multi-label classifier), or the number (a regressor).
function answerCell(prediction) {
  if (Array.isArray(prediction.labels)) {
    const cell = element("td", "labels");
    for (const name of prediction.labels) cell.append(element("span", "chip", name));
    if (!prediction.labels.length) cell.append(element("span", "none", "no label"));
    return cell;
  }
  if (typeof prediction.prediction === "number") {
    const cell = element("td", "number", prediction.prediction.toFixed(3));
    cell.dataset.value = prediction.prediction;
    return cell;
  }
  const cell = element("td", "label", prediction.label);
  cell.dataset.probability = prediction.probability;
  return cell;
}

async function showGates(index) {
  const rows = $("results").tBodies[0].rows;
  for (const row of rows) row.classList.toggle("selected", Number(row.dataset.index) === index);
  const text = rows[index].cells[0].textContent;
  gates = await post("/gates", { text });
  const select = $("gate-layer");
  const chosen = select.value;
  select.replaceChildren();
  gates.layers.forEach((entry, i) => {
    const option = element("option", "", `${entry.layer} (${entry.direction})`);
    option.value = String(i);
    select.append(option);
  });
  if (chosen && Number(chosen) < gates.layers.length) select.value = chosen;
  $("gate-text").textContent = `“${gates.text}”: ${gates.tokens.length} tokens`;
  drawHeatmap();
}

// The units shown: the `count` (all: Infinity) whose update gate varies most
// over the text's tokens, the most varying first (a unit whose gate never
// moves says little about the text).
function unitsByVariance(update, count) {
  const units = update.length ? update[0].length : 0;
  const spread = [];
  for (let unit = 0; unit < units; unit++) {
    const values = update.map((row) => row[unit]);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
    spread.push([variance, unit]);
  }
  spread.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  return spread.slice(0, count).map(([, unit]) => unit);
}

// Rows are units, columns tokens, across the page's width; darker is nearer
// 1 (keeps the state), as in `textgru gates`' figures (matplotlib's Blues).
function drawHeatmap() {
  const entry = gates.layers[Number($("gate-layer").value || 0)];
  const table = $("heatmap");
  table.replaceChildren();
  table.dataset.layer = entry.layer;
  table.dataset.direction = entry.direction;
  const head = element("thead");
  const top = element("tr");
  top.append(element("th", "unit", "unit"));
  for (const token of gates.tokens) top.append(element("th", "token", token));
  head.append(top);
  const body = element("tbody");
  const total = entry.update.length ? entry.update[0].length : 0;
  const count = $("gate-units").value === "all" ? Infinity : Number($("gate-units").value);
  const shown = unitsByVariance(entry.update, count);
  for (const unit of shown) {
    const row = element("tr");
    row.append(element("th", "unit", String(unit)));
    entry.update.forEach((values, t) => {
      const z = values[unit];
      const cell = element("td");
      cell.dataset.value = String(z);
      cell.dataset.token = String(t);
      cell.dataset.unit = String(unit);
      cell.title = `unit ${unit}, “${gates.tokens[t]}”: z = ${z.toFixed(4)}`;
      cell.style.backgroundColor = `hsl(218, 70%, ${(97 - 75 * z).toFixed(1)}%)`;
      row.append(cell);
    });
    body.append(row);
  }
  table.append(head, body);
  $("gate-shown").textContent = shown.length < total
    ? `${shown.length} of ${total} units, the most varying over the tokens first`
    : `all ${total} units, the most varying over the tokens first`;
}

async function describeModel() {
  try {
    const response = await fetch("/health");
    const health = await response.json();
    const what = health.format === "run" ? "A run" : `An export (${health.format})`;
    const labels = health.labels.length ? ` (labels: ${health.labels.join(", ")})` : "";
    $("model").textContent =
      `${what} of a textgru ${health.task} model${labels}; it answers ${health.answers}.`;
  } catch (error) {
    $("model").textContent = "The server did not answer /health.";
  }
}

$("label").addEventListener("click", label);
$("gate-layer").addEventListener("change", drawHeatmap);
$("gate-units").addEventListener("change", drawHeatmap);
$("texts").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) label();
});
describeModel();
