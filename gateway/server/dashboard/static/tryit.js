// The try-it form: any task of the task table (/dashboard/tasks.json) on an uploaded file or
// a text; shows the envelope (or the problem), and POST /v1/route/explain beside it.

import { api, errorOf, fmt, h, replace } from "/dashboard/util.js";

const EXPLAIN_FIELDS = ["language", "source_language", "target_language", "voice"];
const state = { tasks: new Map(), timer: null };
const current = () => state.tasks.get(document.getElementById("try-task").value);

export function initTry(tasks) {
  const select = document.getElementById("try-task");
  for (const t of tasks) {
    state.tasks.set(t.task, t);
    select.append(h("option", { value: t.task }, t.task));
  }
  select.addEventListener("change", () => { buildFields(); explainSoon(); });
  const form = document.getElementById("try-form");
  form.addEventListener("input", explainSoon);
  form.addEventListener("change", explainSoon);
  form.addEventListener("submit", (event) => { event.preventDefault(); run(); });
  buildFields();
  explainSoon();
}

function inputFor(task, field) {
  const name = field.name;
  if (field.kind === "media") {
    const accept = { image: "image/*", audio: "audio/*", video: "video/*" }[task.input] || "*/*";
    return h("input", { type: "file", name, accept, required: true });
  }
  if (name === "text") return h("textarea", { name, required: field.required, placeholder: "text" });
  if (field.kind === "bool") return h("input", { type: "checkbox", name, checked: field.default === true });
  const type = field.kind === "int" || field.kind === "float" ? "number" : "text";
  const placeholder = field.default === null ? (field.required ? "required" : "optional") : String(field.default);
  return h("input", { type, name, step: field.kind === "float" ? "any" : null, required: field.required, placeholder,
    min: field.min, max: field.max, title: field.help });
}

function buildFields() {
  const task = current();
  replace("try-fields", ...task.fields.map((f) =>
    h("label", { "data-field": f.name }, `${f.name}${f.required ? " *" : ""} `, inputFor(task, f))));
}

function readBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function valueOf(field, el) {
  if (field.kind === "bool") return el.checked;
  const raw = el.value.trim();
  if (raw === "") return undefined;
  return field.kind === "int" ? parseInt(raw, 10) : field.kind === "float" ? parseFloat(raw) : raw;
}

async function body(task) {
  const form = document.getElementById("try-form");
  const out = {};
  for (const field of task.fields) {
    const el = form.elements[field.name];
    if (field.kind === "media") {
      if (el.files.length) out[field.name] = { base64: await readBase64(el.files[0]) };
      continue;
    }
    const value = valueOf(field, el);
    if (value !== undefined && !(field.kind === "bool" && value === field.default)) out[field.name] = value;
  }
  return out;
}

function pinHeaders() {
  const pinned = document.getElementById("try-provider").value;
  return pinned ? { "X-Omnisense-Provider": pinned } : {};
}

async function run() {
  const task = current();
  const out = replace("try-output", h("p", { class: "muted" }, `running ${task.task}...`));
  try {
    const payload = await body(task);
    if (payload.stream) return await runStream(task, payload, out);
    const response = await api(task.path, {
      method: "POST", body: payload, raw: true, headers: { Accept: "application/json", ...pinHeaders() },
    });
    if (!response.ok) {
      const error = await errorOf(response);
      out.replaceChildren(h("p", { class: "error", id: "try-problem" }, `${error.status} ${error.title}: ${error.detail}`));
      return;
    }
    showEnvelope(out, await response.json());
  } catch (error) {
    out.replaceChildren(h("p", { class: "error", id: "try-problem" }, String(error.message || error)));
  } finally {
    explainSoon();
  }
}

// A streamed synthesis (stream: true): audio bytes as they are produced, timed as they come.
async function runStream(task, payload, out) {
  const started = performance.now();
  const response = await api(task.path, { method: "POST", body: payload, raw: true, headers: pinHeaders() });
  if (!response.ok) {
    const error = await errorOf(response);
    out.replaceChildren(h("p", { class: "error", id: "try-problem" }, `${error.status} ${error.title}: ${error.detail}`));
    return;
  }
  const reader = response.body.getReader();
  const chunks = [];
  let first = null;
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (first === null) first = performance.now() - started;
    chunks.push(value);
    bytes += value.length;
  }
  const total = performance.now() - started;
  const timing = Object.fromEntries((response.headers.get("server-timing") || "").split(",")
    .map((part) => part.trim().split(";dur=")).filter((pair) => pair.length === 2));
  const type = response.headers.get("content-type") || "audio/wav";
  const summary = h("p", { id: "try-summary" },
    `${task.task}: streamed by ${response.headers.get("x-omnisense-provider")} `,
    `(${response.headers.get("x-omnisense-model")}); first audio after ${fmt.ms(first)} ms `,
    `(gateway ttfb ${fmt.ms(parseFloat(timing.ttfb))} ms), ${chunks.length} chunk(s), ${bytes} bytes in ${fmt.ms(total)} ms; `,
    `${response.headers.get("x-omnisense-units")}, $${response.headers.get("x-omnisense-cost-usd")}`);
  const audio = h("audio", { controls: true, src: URL.createObjectURL(new Blob(chunks, { type })) });
  out.replaceChildren(summary, audio);
}

function showEnvelope(out, envelope) {
  const usage = envelope.usage || {};
  const summary = h("p", { id: "try-summary" },
    `${envelope.task}: served by ${envelope.provider} (${envelope.model}) in ${fmt.ms(envelope.latency_ms)} ms; `,
    `${usage.units} ${usage.unit}, $${fmt.usd(usage.cost_usd)}; ${(envelope.attempts || []).length} attempt(s)`);
  const audio = envelope.result && envelope.result.audio
    ? h("audio", { controls: true, src: `data:audio/${envelope.result.format || "wav"};base64,${envelope.result.audio}` })
    : null;
  out.replaceChildren(summary, audio || "", h("pre", { id: "try-envelope" }, JSON.stringify(envelope, null, 2)));
}

function explainSoon() {
  clearTimeout(state.timer);
  state.timer = setTimeout(explain, 250);
}

const FORMATS = { "image/jpeg": "jpeg", "image/png": "png", "image/webp": "webp", "image/gif": "gif", "image/bmp": "bmp",
  "image/tiff": "tiff", "audio/wav": "wav", "audio/x-wav": "wav", "audio/mpeg": "mp3", "audio/flac": "flac", "audio/ogg": "ogg",
  "video/mp4": "mp4", "video/quicktime": "mov", "video/webm": "webm", "video/x-matroska": "mkv" };

function explainBody(task) {
  const form = document.getElementById("try-form");
  const out = { task: task.task };
  for (const field of task.fields) {
    const el = form.elements[field.name];
    if (field.kind === "media") {
      const file = el.files[0];
      if (file) { out.bytes = file.size; if (FORMATS[file.type]) out.format = FORMATS[file.type]; }
    } else if (field.name === "text") {
      out.text = el.value;
    } else if (EXPLAIN_FIELDS.includes(field.name) || (field.name === "format" && task.answers_audio)) {
      const value = valueOf(field, el);
      if (value !== undefined) out[field.name] = value;
    }
  }
  const pinned = document.getElementById("try-provider").value;
  if (pinned) out.routing = { provider: pinned };
  return out;
}

async function explain() {
  const task = current();
  if (!task) return;
  try {
    const plan = await api("/v1/route/explain", { method: "POST", body: explainBody(task) });
    replace("try-explain",
      h("p", { id: "explain-answer" }, h("strong", null, plan.answer)),
      h("ol", { id: "explain-decisions" }, (plan.decisions || []).map((d) => h("li", null, d.summary))));
  } catch (error) {
    replace("try-explain", h("p", { class: "error" }, String(error.message || error)));
  }
}


