// Charts: uPlot for metric series (fast on long lines), ECharts for the rest.
import { useEffect, useRef, useState } from "preact/hooks";
import "uplot/dist/uPlot.min.css";
import { html } from "./lib.js";

export const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d"];

// Exponential moving average, debiased like TensorBoard's smoothing slider.
export function smooth(values, weight) {
  if (!weight) return values;
  const out = new Array(values.length);
  let last = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v == null || !Number.isFinite(v)) { out[i] = v; continue; }
    last = last * weight + (1 - weight) * v;
    n++;
    out[i] = last / (1 - Math.pow(weight, n));
  }
  return out;
}

// The x value of each point for an axis: "step", "time" (seconds since epoch, uPlot's unit)
// or "relative" (seconds since the series' first point).
export function xValues(s, axis) {
  if (axis === "time") return s.ts.map((t) => t / 1000);
  if (axis === "relative") return s.ts.map((t) => (t - s.ts[0]) / 1000);
  return s.step;
}

// series: [{label, x: number[], y: number[]}]; onZoom(min, max) after a drag, onZoom(null)
// after a double-click reset.
export function LineChart({ series, xLabel = "step", time = false, log = false, height = 260, onZoom, testid }) {
  const box = useRef(null);
  const plot = useRef(null);
  const zoomRef = useRef(onZoom);
  zoomRef.current = onZoom;
  const [uPlot, setUPlot] = useState(null);
  useEffect(() => {
    let alive = true;
    loadUplot().then((u) => alive && setUPlot(() => u));
    return () => { alive = false; };
  }, []);
  useEffect(() => {
    if (!box.current || !uPlot) return undefined;
    const tables = series.map((s) => [s.x, s.y]);
    const data = tables.length ? (tables.length === 1 ? tables[0] : uPlot.join(tables)) : [[]];
    const width = Math.max(300, box.current.clientWidth || 600);
    const opts = {
      width,
      height,
      scales: { x: { time }, y: log ? { distr: 3 } : {} },
      axes: [{ label: xLabel }, { size: 60 }],
      legend: { live: true },
      cursor: { drag: { x: true, y: false, setScale: true } },
      series: [{ label: xLabel }, ...series.map((s, i) => ({
        label: s.label, stroke: s.color || PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true, points: { show: false },
      }))],
      hooks: {
        setSelect: [(u) => {
          if (u.select.width > 2 && zoomRef.current) {
            const min = u.posToVal(u.select.left, "x");
            const max = u.posToVal(u.select.left + u.select.width, "x");
            zoomRef.current(min, max);
          }
        }],
      },
    };
    plot.current = new uPlot(opts, data, box.current);
    const dbl = () => zoomRef.current && zoomRef.current(null, null);
    box.current.addEventListener("dblclick", dbl);
    const ro = new ResizeObserver(() => {
      const w = box.current && box.current.clientWidth;
      if (w && plot.current) plot.current.setSize({ width: Math.max(300, w), height });
    });
    ro.observe(box.current);
    const el = box.current;
    return () => {
      ro.disconnect();
      el.removeEventListener("dblclick", dbl);
      plot.current.destroy();
      plot.current = null;
    };
  }, [uPlot, series, xLabel, time, log, height]);
  return html`<div class="uplot-box" ref=${box} data-testid=${testid} data-series=${series.map((s) => s.label).join("|")} data-points=${series.map((s) => s.x.length).join("|")}></div>`;
}

let uplotModule = null;
function loadUplot() {
  uplotModule = uplotModule || import("uplot").then((m) => m.default);
  return uplotModule;
}

// Pages that will draw a series call this first, so the library loads with their data.
export const preloadUplot = () => void loadUplot();

let echartsModule = null;
function loadEcharts() {
  echartsModule = echartsModule || import("./echarts.js").then((m) => m.default);
  return echartsModule;
}

// Any ECharts option; the library is fetched the first time a page draws one. A new option
// with the same content (a page that polls) does not redraw.
export function EChart({ option, height = 300, testid, onClick }) {
  const box = useRef(null);
  const chart = useRef(null);
  const clickRef = useRef(onClick);
  clickRef.current = onClick;
  const [ready, setReady] = useState(false);
  const [failed, setFailed] = useState(null);
  useEffect(() => {
    let alive = true;
    let ro = null;
    loadEcharts().then((echarts) => {
      if (!alive || !box.current) return;
      chart.current = echarts.init(box.current, null, { renderer: "canvas" });
      chart.current.on("click", (p) => clickRef.current && clickRef.current(p));
      ro = new ResizeObserver(() => chart.current && chart.current.resize());
      ro.observe(box.current);
      setReady(true);
    }, (e) => alive && setFailed(e));
    return () => {
      alive = false;
      if (ro) ro.disconnect();
      if (chart.current) { chart.current.dispose(); chart.current = null; }
    };
  }, []);
  const key = JSON.stringify(option);
  useEffect(() => {
    if (ready && chart.current) chart.current.setOption(option, true);
  }, [ready, key]);
  if (failed) return html`<p class="error-box">Could not load the chart library: ${failed.message}</p>`;
  return html`<div class="echart" ref=${box} style=${`height:${height}px`} data-testid=${testid} data-ready=${ready ? "1" : "0"}></div>`;
}

// A bar histogram from edges (n+1) and counts (n); ``other`` overlays a second profile.
export function histogramOption(edges, counts, other, { names = ["reference", "current"] } = {}) {
  const labels = counts.map((_, i) => `${fmtEdge(edges[i])}–${fmtEdge(edges[i + 1])}`);
  const total = (c) => c.reduce((a, b) => a + b, 0) || 1;
  const series = [{ name: names[0], type: "bar", data: counts.map((c) => c / total(counts)), barGap: "0%" }];
  if (other) series.push({ name: names[1], type: "bar", data: other.map((c) => c / total(other)) });
  return {
    animation: false,
    tooltip: { trigger: "axis" },
    legend: other ? { top: 0 } : undefined,
    grid: { left: 50, right: 10, top: other ? 30 : 10, bottom: 40 },
    xAxis: { type: "category", data: labels, axisLabel: { fontSize: 9, rotate: 30 } },
    yAxis: { type: "value", name: "share" },
    series,
  };
}

function fmtEdge(v) {
  if (typeof v !== "number") return String(v);
  return Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(3)));
}
