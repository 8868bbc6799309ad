// The recent request log with filters, and one record's detail (attempts, timings, overhead).

import { api, fmt, h, replace, table } from "/dashboard/util.js";

const state = { selected: null, records: [] };

function filters() {
  const form = document.getElementById("log-filters");
  const q = new URLSearchParams({ limit: "50" });
  for (const name of ["status", "task", "provider", "key"]) {
    const value = form.elements[name].value.trim();
    if (value) q.set(name, value);
  }
  const http = form.elements.http.value.trim();
  if (http) q.set("status", http); // an HTTP status narrows further than ok/error
  return q;
}

export function initLogs(tasks) {
  const select = document.querySelector("#log-filters [name=task]");
  for (const t of tasks) select.append(h("option", { value: t.task }, t.task));
  const form = document.getElementById("log-filters");
  form.addEventListener("change", refreshLogs);
  form.addEventListener("submit", (event) => { event.preventDefault(); refreshLogs(); });
}

export async function refreshLogs() {
  const page = await api(`/v1/logs?${filters()}`);
  state.records = page.records;
  const columns = [
    { label: "time", value: (r) => fmt.time(r.time) },
    { label: "request id", key: "request_id", value: (r) => r.request_id.slice(0, 12) },
    { label: "task", key: "task", value: (r) => r.task },
    { label: "provider", key: "provider", value: (r) => r.provider || "-" },
    { label: "http", key: "http_status", num: true, value: (r) => r.http_status, cls: (r) => (r.status === "ok" ? "ok" : "bad") },
    { label: "ms", num: true, value: (r) => fmt.ms(r.latency_ms) },
    { label: "cost $", num: true, value: (r) => fmt.usd(r.cost_usd) },
    { label: "key", key: "key", value: (r) => r.key_id || "-" },
    { label: "error", value: (r) => r.error_type || "" },
  ];
  const el = replace("logs", table(columns, page.records, { id: "logs-table", onRow: select, empty: "no matching requests" }));
  for (const tr of el.querySelectorAll("tbody tr")) {
    const i = [...tr.parentNode.children].indexOf(tr);
    if (page.records[i] && page.records[i].request_id === state.selected) tr.classList.add("selected");
  }
}

function select(record, tr) {
  state.selected = record.request_id;
  for (const row of tr.parentNode.querySelectorAll("tr.selected")) row.classList.remove("selected");
  tr.classList.add("selected");
  showDetail(record);
}

function facts(pairs) {
  return h("dl", null, pairs.filter(([, v]) => v !== undefined && v !== null && v !== "")
    .flatMap(([k, v]) => [h("dt", null, k), h("dd", { "data-fact": k }, String(v))]));
}

function showDetail(r) {
  const panel = document.getElementById("log-detail");
  panel.hidden = false;
  const input = r.input || {};
  const output = r.output || {};
  const attempts = table([
    { label: "provider", value: (a) => a.provider },
    { label: "outcome", value: (a) => a.outcome, cls: (a) => (a.outcome === "ok" ? "ok" : "bad") },
    { label: "error", value: (a) => a.error_type || "" },
    { label: "ms", num: true, value: (a) => fmt.ms(a.latency_ms) },
    { label: "hedged", value: (a) => (a.hedged ? "yes" : "") },
    { label: "detail", value: (a) => a.detail || "" },
  ], r.attempts || [], { id: "attempts-table", empty: "no provider was tried" });
  const shadows = (r.shadow || []).length ? [h("h3", null, "Shadow"), table([
    { label: "provider", value: (x) => x.provider }, { label: "outcome", value: (x) => x.outcome },
    { label: "ms", num: true, value: (x) => fmt.ms(x.latency_ms) },
    { label: "agrees", value: (x) => (x.agrees === undefined ? "-" : x.agrees ? "yes" : "no") },
  ], r.shadow)] : [];
  panel.replaceChildren(
    h("h3", null, `Request ${r.request_id}`),
    facts([
      ["time", fmt.stamp(r.time)], ["task", r.task], ["status", `${r.status} (HTTP ${r.http_status})`],
      ["provider", r.provider ? `${r.provider} / ${r.model || "-"}` : "-"], ["key", r.key_id],
      ["policy", [r.policy, r.route, r.strategy].filter(Boolean).join(" · ")],
      ["latency ms", fmt.ms(r.latency_ms)], ["overhead ms", fmt.ms(r.overhead_ms)],
      ["units", r.unit ? `${r.units} ${r.unit}` : r.units], ["cost $", fmt.usd(r.cost_usd)],
      ["error", r.error_type ? `${r.error_type}: ${r.error_detail || ""}` : ""],
      ["input", [input.format, input.bytes ? `${input.bytes} bytes` : "", input.characters ? `${input.characters} chars` : "",
        input.audio_seconds ? `${input.audio_seconds} s` : "", input.language].filter(Boolean).join(", ")],
      ["output", [output.top, output.confidence != null ? `conf ${output.confidence}` : "",
        output.items !== undefined ? `${output.items} items` : ""].filter(Boolean).join(", ")],
    ]),
    h("h3", null, "Attempts"), attempts, ...shadows,
    (r.decisions || []).length ? h("div", null, h("h3", null, "Routing decisions"),
      h("ul", null, r.decisions.map((d) => h("li", null, d)))) : "",
    h("details", null, h("summary", null, "record as JSON"), h("pre", null, JSON.stringify(r, null, 2))),
  );
}
