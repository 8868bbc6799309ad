// The budgets panel: every key's budget windows from GET /v1/stats (``budgets``): spent, left,
// when the window resets and when it runs out at today's spending rate.

import { api, fmt, replace, table } from "/dashboard/util.js";

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "-";
  if (seconds >= 86400) return `${(seconds / 86400).toFixed(1)} d`;
  if (seconds >= 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${Math.max(0, seconds / 60).toFixed(0)} min`;
}

export async function refreshBudgets() {
  const stats = await api("/v1/stats?window=1h");
  const rows = (stats.budgets || []).flatMap((b) => b.windows.map((w) => ({ ...w, key: b.key, then: b.then, rate: b.usd_per_hour })));
  const columns = [
    { label: "key", key: "key", value: (r) => r.key },
    { label: "window", key: "window", value: (r) => r.window },
    { label: "limit $", key: "limit", num: true, value: (r) => fmt.usd(r.limit_usd) },
    { label: "spent $", key: "spent", num: true, value: (r) => fmt.usd(r.spent_usd) },
    { label: "left $", key: "left", num: true, value: (r) => fmt.usd(r.left_usd), cls: (r) => (r.left_usd <= 0 ? "bad" : "") },
    { label: "$ per hour", key: "rate", num: true, value: (r) => fmt.usd(r.rate) },
    { label: "runs out in", key: "runs_out", value: (r) => (r.runs_out_in_s === null ? "not before reset" : duration(r.runs_out_in_s)),
      cls: (r) => (r.runs_out_in_s !== null ? "warn" : "") },
    { label: "resets in", key: "resets", value: (r) => duration(r.resets_in_s) },
    { label: "then", key: "then", value: (r) => r.then },
  ];
  replace("budgets", table(columns, rows, { id: "budgets-table", empty: "no key has a budget" }));
}
