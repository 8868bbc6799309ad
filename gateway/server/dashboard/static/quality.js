// The quality panel: GET /v1/quality over the window routing uses (best_quality), one row per
// task x language x provider x source, the best score of each task and language marked.

import { api, fmt, replace, table } from "/dashboard/util.js";

const DAY = 86400;

function windowText(seconds) {
  return seconds >= DAY ? `${(seconds / DAY).toFixed(0)} d` : `${(seconds / 3600).toFixed(0)} h`;
}

export async function refreshQuality() {
  const body = await api("/v1/quality");
  const rows = body.rows.slice().sort((a, b) => a.task.localeCompare(b.task) || a.language.localeCompare(b.language)
    || a.source.localeCompare(b.source) || b.score - a.score);
  const best = new Map();
  for (const r of rows) {
    const key = `${r.task}|${r.language}|${r.source}`;
    best.set(key, Math.max(best.get(key) ?? 0, r.score));
  }
  const isBest = (r) => r.score === best.get(`${r.task}|${r.language}|${r.source}`);
  document.getElementById("quality-window").textContent =
    `(agreement with the consensus, accuracy against references; last ${windowText(body.until - body.since)})`;
  const columns = [
    { label: "task", key: "task", value: (r) => r.task },
    { label: "language", key: "language", value: (r) => r.language },
    { label: "provider", key: "provider", value: (r) => r.provider },
    { label: "source", key: "source", value: (r) => r.source },
    { label: "samples", key: "samples", num: true, value: (r) => r.samples },
    { label: "score", key: "score", num: true, value: (r) => r.score.toFixed(3), cls: (r) => (isBest(r) ? "ok" : "") },
    { label: "since", key: "since", value: (r) => fmt.stamp(r.window.since) },
  ];
  replace("quality", table(columns, rows, { id: "quality-table", empty: "no quality samples yet (fan-out, shadows, omnisense eval)" }));
}
