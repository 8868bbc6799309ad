// SVG charts drawn here, with no library: a line chart of time buckets and a stacked bar chart.

import { h } from "/dashboard/util.js";

const NS = "http://www.w3.org/2000/svg";
const PALETTE = ["#0969da", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#bc4c00", "#1b7c83", "#6e7781"];
const W = 480, H = 170, PAD = { l: 44, r: 8, t: 8, b: 20 };

export function color(i) { return PALETTE[i % PALETTE.length]; }

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function axes(svg, yMax, yFmt, xLabels) {
  const plotH = H - PAD.t - PAD.b;
  for (const f of [0, 0.5, 1]) {
    const y = PAD.t + plotH * (1 - f);
    svg.append(s("line", { x1: PAD.l, x2: W - PAD.r, y1: y, y2: y, stroke: "#dfe3ea" }));
    svg.append(s("text", { x: PAD.l - 4, y: y + 3, "text-anchor": "end" }, yFmt(yMax * f)));
  }
  for (const [x, label, anchor] of xLabels) svg.append(s("text", { x, y: H - 5, "text-anchor": anchor || "middle" }, label));
}

export function legend(names) {
  return h("div", { class: "legend" }, names.map((n, i) =>
    h("span", null, h("span", { class: `swatch c${i % PALETTE.length}` }), n)));
}

// series: [{name, values: [number|null per bucket]}]; buckets: [start seconds]; step: seconds per bucket.
export function lineChart(series, buckets, { yFmt = (v) => v.toFixed(1), label = "" } = {}) {
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "aria-label": label });
  const all = series.flatMap((x) => x.values).filter((v) => v !== null);
  const yMax = niceMax(Math.max(0, ...all));
  const plotW = W - PAD.l - PAD.r, plotH = H - PAD.t - PAD.b;
  const xOf = (i) => PAD.l + (buckets.length > 1 ? (plotW * i) / (buckets.length - 1) : plotW / 2);
  const yOf = (v) => PAD.t + plotH * (1 - v / yMax);
  const stamp = (t) => new Date(t * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
  const ticks = buckets.length
    ? [[xOf(0), stamp(buckets[0]), "start"], [xOf(buckets.length - 1), stamp(buckets.at(-1)), "end"]] : [];
  axes(svg, yMax, yFmt, ticks);
  series.forEach((line, i) => {
    let d = "";
    line.values.forEach((v, j) => {
      if (v === null) return;
      d += `${d && line.values[j - 1] !== null ? "L" : "M"}${xOf(j).toFixed(1)},${yOf(v).toFixed(1)}`;
    });
    if (d) svg.append(s("path", { d, fill: "none", stroke: color(i), "stroke-width": 1.6, "data-series": line.name }));
  });
  return h("div", null, svg, legend(series.map((x) => x.name)));
}

// groups: [label per bar]; series: [{name, values: [number per bar]}], stacked.
export function barChart(groups, series, { yFmt = (v) => v.toFixed(2), label = "" } = {}) {
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "aria-label": label });
  const totals = groups.map((_, j) => series.reduce((a, x) => a + (x.values[j] || 0), 0));
  const yMax = niceMax(Math.max(0, ...totals));
  const plotW = W - PAD.l - PAD.r, plotH = H - PAD.t - PAD.b;
  const slot = plotW / Math.max(1, groups.length);
  axes(svg, yMax, yFmt, groups.map((g, j) => [PAD.l + slot * (j + 0.5), g]));
  groups.forEach((_, j) => {
    let base = 0;
    series.forEach((x, i) => {
      const v = x.values[j] || 0;
      if (v <= 0) return;
      const y0 = PAD.t + plotH * (1 - base / yMax), y1 = PAD.t + plotH * (1 - (base + v) / yMax);
      svg.append(s("rect", { x: PAD.l + slot * j + slot * 0.15, width: slot * 0.7, y: y1, height: Math.max(0.5, y0 - y1),
        fill: color(i) }, s("title", null, `${x.name}: $${v.toFixed(6)}`)));
      base += v;
    });
  });
  return h("div", null, svg, legend(series.map((x) => x.name)));
}
