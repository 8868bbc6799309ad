// The dashboard: panels over the gateway's JSON endpoints, refreshed by polling.

import { barChart, lineChart } from "/dashboard/charts.js";
import { initLogs, refreshLogs } from "/dashboard/logs.js";
import { refreshBudgets } from "/dashboard/budgets.js";
import { refreshQuality } from "/dashboard/quality.js";
import { initLive } from "/dashboard/live.js";
import { initTry } from "/dashboard/tryit.js";
import {
  api, clearAuthBanner, failed, fmt, h, parseDuration, percentile, replace, session, setKey, table,
} from "/dashboard/util.js";

const MAX_PAGES = 5; // the traffic charts read at most 5 x 1000 records of the window
const BUCKETS = 30;
const state = { tasks: [], providers: [], timer: null, busy: false, costAt: 0 };
const windowValue = () => document.getElementById("window").value;

// --- providers -------------------------------------------------------------------------

function worstCircuit(circuits) {
  const states = Object.values(circuits || {}).map((c) => String(c.state));
  const open = states.filter((x) => x === "open").length;
  const half = states.filter((x) => x.startsWith("half")).length;
  if (open) return [`open (${open} task${open > 1 ? "s" : ""})`, "bad"];
  if (half) return [`half-open (${half})`, "warn"];
  return ["closed", "ok"];
}

function meanLatency(latency) {
  const rows = Object.values(latency || {});
  const n = rows.reduce((a, r) => a + (r.samples || 0), 0);
  return n ? rows.reduce((a, r) => a + r.mean_ms * (r.samples || 0), 0) / n : null;
}

async function refreshProviders() {
  const body = await api("/v1/providers");
  state.providers = body.providers;
  document.getElementById("policy-name").textContent = `policy: ${body.policy}`;
  const columns = [
    { label: "provider", key: "provider", value: (p) => p.name },
    { label: "kind", value: (p) => p.kind },
    { label: "health", key: "health", value: (p) => (p.health && p.health.ok ? "ok" : "DOWN"),
      cls: (p) => (p.health && p.health.ok ? "ok" : "bad") },
    { label: "probe ms", key: "probe", num: true, value: (p) => fmt.ms(p.health ? p.health.latency_ms : null) },
    { label: "circuit", key: "circuit", value: (p) => worstCircuit(p.circuits)[0], cls: (p) => worstCircuit(p.circuits)[1] },
    { label: "routing ms", key: "routing_ms", num: true, value: (p) => fmt.ms(meanLatency(p.latency)) },
    { label: "tasks", value: (p) => Object.keys(p.tasks).length },
    { label: "detail", value: (p) => (p.health && p.health.detail) || "" },
  ];
  replace("providers", table(columns, body.providers, { id: "providers-table" }));
  fillSelect(document.querySelector("#log-filters [name=provider]"), body.providers.map((p) => p.name));
  fillSelect(document.getElementById("try-provider"), body.providers.map((p) => p.name));
}

export function fillSelect(select, values) {
  const have = new Set([...select.options].map((o) => o.value));
  for (const v of values) if (!have.has(v)) select.append(h("option", { value: v }, v));
}

// --- stats (the numbers the page shows are /v1/stats's own) --------------------------------

function driftText(psi) {
  if (psi === null || psi === undefined) return "-";
  return `${psi.toFixed(3)} ${psi < 0.1 ? "stable" : psi < 0.25 ? "moderate" : "SHIFT"}`;
}

function outputText(profile) {
  if (!profile) return "-";
  const mix = Object.entries(profile.top_mix || {}).map(([k, v]) => `${k} ${Math.round(v * 100)}%`).join(", ");
  const parts = [mix];
  if (profile.mean_confidence !== undefined && profile.mean_confidence !== null) parts.push(`conf ${profile.mean_confidence.toFixed(2)}`);
  if (profile.mean_items !== undefined && profile.mean_items !== null) parts.push(`items ${profile.mean_items.toFixed(1)}`);
  return parts.filter(Boolean).join("; ") || "-";
}

// What redaction removed (counts per type, never values): "EMAIL 3, FACE 1; out: PHONE 1".
function redactedText(counts) {
  if (!counts) return "-";
  const inputs = [], outputs = [];
  for (const [kind, n] of Object.entries(counts)) {
    if (kind.startsWith("out:")) outputs.push(`${kind.slice(4)} ${n}`);
    else inputs.push(`${kind} ${n}`);
  }
  const parts = [inputs.join(", "), outputs.length ? `out: ${outputs.join(", ")}` : ""].filter(Boolean);
  return parts.join("; ") || "-";
}

async function refreshStats() {
  const w = windowValue();
  const stats = await api(`/v1/stats?window=${encodeURIComponent(w)}`);
  document.getElementById("stats-window").textContent = `last ${w}; drift against the ${w} before`;
  const columns = [
    { label: "provider", key: "provider", value: (r) => r.provider },
    { label: "task", key: "task", value: (r) => r.task },
    { label: "requests", key: "requests", num: true, value: (r) => r.requests },
    { label: "err %", key: "error_rate", num: true, value: (r) => fmt.pct(r.error_rate), cls: (r) => (r.errors ? "bad" : "") },
    { label: "p50 ms", key: "p50_ms", num: true, value: (r) => fmt.ms(r.p50_ms) },
    { label: "p95 ms", key: "p95_ms", num: true, value: (r) => fmt.ms(r.p95_ms) },
    { label: "cost $", key: "cost_usd", num: true, value: (r) => fmt.usd(r.cost_usd) },
    { label: "outputs", key: "outputs", value: (r) => outputText(r.output) },
    { label: "drift (PSI)", key: "drift", value: (r) => driftText(r.drift_psi),
      cls: (r) => (r.drift_psi >= 0.25 ? "bad" : r.drift_psi >= 0.1 ? "warn" : "") },
    { label: "redacted", key: "redacted", value: (r) => redactedText(r.redacted) },
  ];
  replace("stats", table(columns, stats.rows, { id: "stats-table", empty: "no requests in the window" }));
}

// --- traffic charts, from the window's log records -----------------------------------------

async function windowRecords(seconds) {
  const since = Date.now() / 1000 - seconds;
  const records = [];
  let cursor = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const q = new URLSearchParams({ since: since.toFixed(3), limit: "1000" });
    if (cursor) q.set("cursor", cursor);
    const body = await api(`/v1/logs?${q}`);
    records.push(...body.records);
    cursor = body.next_cursor;
    if (!cursor) return { records, complete: true, since };
  }
  return { records, complete: false, since };
}

function bucketize(records, since, seconds, by) {
  const step = seconds / BUCKETS;
  const groups = new Map();
  for (const r of records) {
    const name = (by === "task" ? r.task : r.provider) || "-";
    if (!groups.has(name)) groups.set(name, Array.from({ length: BUCKETS }, () => ({ n: 0, errors: 0, ms: [] })));
    const i = Math.min(BUCKETS - 1, Math.max(0, Math.floor((r.time - since) / step)));
    const b = groups.get(name)[i];
    b.n += 1;
    if (r.status !== "ok") b.errors += 1;
    b.ms.push(r.latency_ms);
  }
  const names = [...groups.keys()].sort();
  const series = (f) => names.map((name) => ({ name, values: groups.get(name).map(f) }));
  const sorted = (b) => b.ms.slice().sort((x, y) => x - y);
  return {
    buckets: Array.from({ length: BUCKETS }, (_, i) => since + i * step),
    rps: series((b) => b.n / step),
    errors: series((b) => (b.n ? b.errors / b.n : null)),
    p50: series((b) => (b.n ? percentile(sorted(b), 0.5) : null)),
    p95: series((b) => (b.n ? percentile(sorted(b), 0.95) : null)),
  };
}

async function refreshTraffic() {
  const seconds = parseDuration(windowValue());
  const { records, complete, since } = await windowRecords(seconds);
  const by = document.getElementById("group-by").value;
  const data = bucketize(records, since, seconds, by);
  const note = `${records.length} requests in the window${complete ? "" : " (charts show the newest of them)"}`;
  document.getElementById("traffic-note").textContent = note;
  replace("chart-rps", lineChart(data.rps, data.buckets, { yFmt: (v) => v.toFixed(2), label: "requests per second" }));
  replace("chart-errors", lineChart(data.errors, data.buckets, { yFmt: (v) => `${Math.round(v * 100)}%`, label: "error rate" }));
  replace("chart-p50", lineChart(data.p50, data.buckets, { yFmt: (v) => v.toFixed(0), label: "p50 latency" }));
  replace("chart-p95", lineChart(data.p95, data.buckets, { yFmt: (v) => v.toFixed(0), label: "p95 latency" }));
}

// --- cost per provider per day: the difference of /v1/stats over 1..7 days ------------------

const COST_EVERY_MS = 60_000; // seven 1..7-day stats queries: once a minute is live enough for a daily figure

async function refreshCost() {
  if (Date.now() - (state.costAt || 0) < COST_EVERY_MS) return;
  state.costAt = Date.now();
  const windows = await Promise.all([1, 2, 3, 4, 5, 6, 7].map((d) => api(`/v1/stats?window=${d}d`)));
  const totals = windows.map((s) => {
    const out = {};
    for (const r of s.rows) out[r.provider] = (out[r.provider] || 0) + r.cost_usd;
    return out;
  });
  const providers = [...new Set(totals.flatMap((t) => Object.keys(t)))].sort();
  const labels = ["0-1d ago", "1-2d ago", "2-3d ago", "3-4d ago", "4-5d ago", "5-6d ago", "6-7d ago"];
  const perDay = providers.map((p) => ({
    name: p,
    values: totals.map((t, i) => Math.max(0, (t[p] || 0) - (i ? totals[i - 1][p] || 0 : 0))),
  }));
  const order = [6, 5, 4, 3, 2, 1, 0]; // oldest first
  const series = perDay.map((x) => ({ name: x.name, values: order.map((i) => x.values[i]) }));
  replace("chart-cost", barChart(order.map((i) => labels[i]), series, { yFmt: (v) => `$${v.toFixed(3)}`, label: "cost per day" }));
  const columns = [{ label: "provider", key: "provider", value: (x) => x.name },
    ...order.map((i) => ({ label: labels[i], num: true, value: (x) => x.values[i].toFixed(4) }))];
  replace("cost", table(columns, perDay, { id: "cost-table", empty: "no cost in the last 7 days" }));
}

// --- policy -------------------------------------------------------------------------------

async function refreshPolicy() {
  const p = await api("/v1/policy");
  const reload = p.reload || {};
  const facts = [
    ["name", p.name], ["source", p.source],
    ["loaded", reload.loaded_at ? fmt.stamp(reload.loaded_at) : "-"],
    ["reloads", reload.reloads ?? "-"], ["refused", reload.refused ?? "-"],
    ["last refusal", reload.last_refused_at ? fmt.stamp(reload.last_refused_at) : "none"],
  ];
  const dl = h("dl", { id: "policy-facts" }, facts.flatMap(([k, v]) => [h("dt", null, k), h("dd", { "data-fact": k }, String(v))]));
  const problems = reload.last_error && reload.last_error.length
    ? h("div", { class: "error", id: "policy-refusal" }, h("strong", null, "The last file was refused:"),
      h("ul", null, reload.last_error.map((e) => h("li", null, e))))
    : null;
  const routes = Object.entries(p.routes).map(([task, r]) => ({ task, ...r }));
  const columns = [
    { label: "task", value: (r) => r.task }, { label: "route", value: (r) => r.route },
    { label: "strategy", value: (r) => r.strategy }, { label: "candidates", value: (r) => r.candidates.join(" > ") },
    { label: "shadow", value: (r) => (r.shadow || []).join(", ") || "-" },
    { label: "hedge ms", num: true, value: (r) => (r.hedge_after_ms ?? "-") },
  ];
  replace("policy", dl, problems || "", table(columns, routes, { id: "routes-table" }));
}

// --- refresh loop ---------------------------------------------------------------------------

const PANELS = [
  ["providers", refreshProviders], ["stats", refreshStats], ["chart-rps", refreshTraffic],
  ["cost", refreshCost], ["policy", refreshPolicy], ["logs", refreshLogs], ["quality", refreshQuality],
  ["budgets", refreshBudgets],
];

export async function refreshAll() {
  if (state.busy) return;
  state.busy = true;
  let authOk = true;
  try {
    await Promise.all(PANELS.map(async ([id, refresh]) => {
      try { await refresh(); } catch (error) {
        if (id === "cost") state.costAt = 0;
        if (error.status === 401 || error.status === 403) authOk = false;
        failed(id, error);
      }
    }));
    if (authOk) clearAuthBanner();
    document.getElementById("updated").textContent = `updated ${new Date().toLocaleTimeString([], { hour12: false })}`;
    document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
  } finally {
    state.busy = false;
  }
}

function schedule() {
  clearInterval(state.timer);
  const seconds = Number(document.getElementById("interval").value);
  if (seconds > 0) state.timer = setInterval(refreshAll, seconds * 1000);
}

async function main() {
  document.getElementById("key").value = session.key;
  document.getElementById("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setKey(document.getElementById("key").value.trim());
    state.costAt = 0;
    refreshAll();
  });
  for (const id of ["window", "group-by"]) document.getElementById(id).addEventListener("change", refreshAll);
  document.getElementById("interval").addEventListener("change", schedule);
  state.tasks = (await api("/dashboard/tasks.json")).tasks;
  initLogs(state.tasks);
  initTry(state.tasks);
  initLive();
  await refreshAll();
  schedule();
}

main();
