// Small helpers shared by the dashboard's modules: DOM building (text only, never HTML
// from data), the API call with the admin key, formatting, and tables.

export const session = { key: sessionStorage.getItem("omnisense-key") || "" };

export function setKey(key) {
  session.key = key;
  if (key) sessionStorage.setItem("omnisense-key", key);
  else sessionStorage.removeItem("omnisense-key");
}

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export class ApiError extends Error {
  constructor(status, title, detail) {
    super(`${status} ${title}: ${detail}`);
    this.status = status;
    this.title = title;
    this.detail = detail;
  }
}

export async function api(path, { method = "GET", body, headers = {}, raw = false } = {}) {
  const all = { ...headers };
  if (session.key) all.Authorization = `Bearer ${session.key}`;
  if (body !== undefined && !(body instanceof Blob)) all["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers: all,
    body: body === undefined ? undefined : body instanceof Blob ? body : JSON.stringify(body),
  });
  if (raw) return response;
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

export async function errorOf(response) {
  let problem = {};
  try { problem = await response.json(); } catch { /* not problem+json */ }
  const error = new ApiError(response.status, problem.title || response.statusText, problem.detail || "");
  if (response.status === 401 || response.status === 403) authNeeded(error);
  return error;
}

export function authNeeded(error) {
  const banner = document.getElementById("auth-banner");
  banner.hidden = false;
  banner.textContent = `The gateway refused the dashboard (${error.status} ${error.title}): ${error.detail} ` +
    "Enter an admin key above.";
}

export function clearAuthBanner() {
  document.getElementById("auth-banner").hidden = true;
}

export const fmt = {
  ms: (v) => (v === null || v === undefined ? "-" : Number(v).toFixed(1)),
  pct: (v) => (v === null || v === undefined ? "-" : (100 * v).toFixed(1)),
  usd: (v) => (v === null || v === undefined ? "-" : Number(v).toFixed(6)),
  time: (t) => new Date(t * 1000).toLocaleTimeString([], { hour12: false }),
  stamp: (t) => new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19),
};

// A table; columns: [{label, value(row) -> string|Node, num?, cls?(row)}]. onRow(row, tr) makes rows clickable.
export function table(columns, rows, { onRow, id, empty = "nothing yet" } = {}) {
  const head = h("tr", null, columns.map((c) => h("th", { class: c.num ? "num" : null }, c.label)));
  const body = rows.map((row) => {
    const cells = columns.map((c) =>
      h("td", { class: [c.num ? "num" : "", c.cls ? c.cls(row) : ""].join(" ").trim() || null,
        "data-col": c.key || c.label }, c.value(row)));
    const tr = h("tr", { class: onRow ? "clickable" : null }, cells);
    if (onRow) tr.addEventListener("click", () => onRow(row, tr));
    return tr;
  });
  if (!rows.length) body.push(h("tr", { class: "empty" }, h("td", { colspan: columns.length, class: "muted" }, empty)));
  return h("table", { id }, h("thead", null, head), h("tbody", null, body));
}

export function replace(id, ...nodes) {
  const el = document.getElementById(id);
  el.replaceChildren(...nodes);
  return el;
}

export function failed(id, error) {
  replace(id, h("p", { class: "error" }, String(error.message || error)));
}

export function parseDuration(text) {
  const units = { s: 1, m: 60, h: 3600, d: 86400 };
  const match = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text);
  return match ? Number(match[1]) * units[match[2]] : 3600;
}

// Linear interpolation between closest ranks, as the request log's own stats compute it.
export function percentile(sorted, q) {
  if (!sorted.length) return null;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
