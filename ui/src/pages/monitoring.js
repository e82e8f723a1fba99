// Monitoring: drift over time, distributions, data quality, performance, operations, alerts.
import { useMemo, useState } from "preact/hooks";
import { api } from "../api.js";
import { EChart, LineChart } from "../charts.js";
import { Await, Badge, ErrorBox, KV, Link, PageHead, Section, Table, fmtNum, fmtTime, html, useApi, useMay } from "../lib.js";

export function Monitors() {
  const q = useApi(() => api.monitors(), [], { poll: 5000 });
  return html`<${PageHead} title="Monitoring" />
    <${Await} q=${q} what="monitors">${(rows) => html`<${Table} testid="monitors" rows=${rows} empty="No monitor yet." columns=${[
      { label: "Monitor", render: (m) => html`<${Link} href=${`/monitoring/${encodeURIComponent(m.endpoint)}/${encodeURIComponent(m.name)}`}>${m.endpoint} / ${m.name}<//>` },
      { label: "Checks", render: (m) => (m.spec.checks || []).join(", ") },
      { label: "Window", render: (m) => m.spec.window },
      { label: "Every", render: (m) => m.spec.interval },
      { label: "Enabled", render: (m) => html`<${Badge} value=${m.enabled ? "enabled" : "disabled"} kind=${m.enabled ? "ok" : "neutral"} />` },
      { label: "Last run", render: (m) => fmtTime(m.last_run_at) },
    ]} />`}<//>`;
}

// One line per key over the results' timestamps (seconds, uPlot's time unit).
function timeSeries(results, keys, label = (k) => k) {
  return keys.map((k) => ({ label: label(k), x: results.map((r) => r.ts / 1000), y: results.map((r) => (r.scores[k] ?? null)) }));
}

const WINDOWS = ["1h", "1d", "7d", "30d"];

export function MonitorDetail({ endpoint, name }) {
  const q = useApi(() => Promise.all([api.monitor(endpoint, name), api.monitorResults(endpoint, name, { limit: 500 })]), [endpoint, name], { poll: 5000 });
  const [window, setWindow] = useState("1d");
  const report = useApi(() => api.monitorReport(endpoint, name, { window, history: 1 }), [endpoint, name, window]);
  const canRun = useMay("developer", endpoint);
  const [runError, setRunError] = useState(null);
  return html`<${Await} q=${q} what="monitor">${([m, all]) => {
    const results = [...all].sort((a, b) => a.ts - b.ts);
    const latest = [...results].reverse().find((r) => r.status !== "no_data") || results[results.length - 1];
    return html`<${PageHead} title=${`Monitor ${m.endpoint} / ${m.name}`} sub=${`${(m.spec.checks || []).join(", ")} · window ${m.spec.window} · every ${m.spec.interval}`}>
        <span class="live">● live</span>
        ${canRun ? html`<button data-testid="run-monitor" onClick=${async () => { setRunError(null); try { await api.runMonitor(endpoint, name); q.reload(); } catch (e) { setRunError(e); } }}>Run now</button>` : null}
      <//>
      <${ErrorBox} error=${runError} />
      ${results.length ? null : html`<p class="muted">No result yet: the monitor has not run.</p>`}
      <${DriftOverTime} results=${results} />
      <div class="cols">
        <${Section} title="Latest drift">${latest && latest.drift ? html`<${Table} testid="drift-table" rows=${latest.drift.columns} columns=${[
          { label: "Feature", render: (c) => c.column },
          { label: "Test", render: (c) => c.test },
          { label: "Statistic", num: true, render: (c) => fmtNum(c.statistic) },
          { label: "Threshold", num: true, render: (c) => fmtNum(c.threshold) },
          { label: "p", num: true, render: (c) => fmtNum(c.p_adjusted ?? c.p_value) },
          { label: "Drifted", render: (c) => html`<${Badge} value=${c.drifted ? "drifted" : "ok"} kind=${c.drifted ? "bad" : "ok"} />` },
        ]} />` : html`<p class="muted">No drift result yet.</p>`}<//>
        <${Section} title="Data quality">${latest && latest.quality ? html`<${Quality} q=${latest.quality} />` : html`<p class="muted">No data-quality result yet.</p>`}<//>
      </div>
      <${Section} title="Reference vs current" actions=${html`<select aria-label="window" onChange=${(e) => setWindow(e.target.value)}>${WINDOWS.map((w) => html`<option selected=${w === window}>${w}</option>`)}</select>`}>
        <${Distributions} q=${report} />
      <//>
      <${Performance} results=${results} latest=${latest} />
      <${Operations} results=${results} latest=${latest} />
      <${Section} title="Alerts of this endpoint"><${AlertTable} endpoint=${endpoint} /><//>`;
  }}<//>`;
}

function DriftOverTime({ results }) {
  const features = useMemo(() => {
    const set = new Set();
    for (const r of results) for (const k of Object.keys(r.scores)) { const m = k.match(/^drift\.feature\.(.+)\.score$/); if (m) set.add(m[1]); }
    return [...set].sort();
  }, [results]);
  if (!features.length) return null;
  // One small chart per feature: tests differ in scale (a Wasserstein distance, a
  // Jensen-Shannon divergence), so a shared axis would flatten all but the largest.
  return html`<${Section} title="Drift over time, per feature"><div class="chart-grid small" data-testid="drift-over-time">${features.map((f) => html`<div class="chart-card"><header><strong>${f}</strong></header>
    <${LineChart} testid=${`drift-${f}`} series=${timeSeries(results, [`drift.feature.${f}.score`], () => "score")} xLabel="time" time=${true} height=${150} /></div>`)}</div><//>`;
}

function Distributions({ q }) {
  if (q.error) return html`<${ErrorBox} error=${q.error} />`;
  if (!q.data) return html`<p class="loading">Evaluating the window…</p>`;
  const dists = Object.entries(q.data.distributions || {});
  if (!dists.length) return html`<p class="muted">No traffic in this window (or no reference profile).</p>`;
  return html`<div class="chart-grid" data-testid="distributions">${dists.map(([col, d]) => html`<div class="chart-card"><header><strong>${col}</strong> <small class="muted">${d.kind}</small></header>
    <${EChart} height=${200} option=${{
      animation: false, tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 45, right: 10, top: 30, bottom: 45 },
      xAxis: { type: "category", data: d.labels, axisLabel: { fontSize: 9, rotate: 30 } }, yAxis: { type: "value" },
      series: [{ name: "reference", type: "bar", data: d.reference, itemStyle: { color: "#4c78a8" } }, { name: "current", type: "bar", data: d.current, itemStyle: { color: "#f58518" } }],
    }} /></div>`)}</div>`;
}

function Quality({ q }) {
  const missing = Object.entries(q.missing_rates || {}).map(([col, rate]) => ({ col, rate, ref: (q.reference_missing_rates || {})[col] }));
  return html`<p>${q.rows} rows checked.</p>
    <${Table} testid="quality-issues" rows=${q.issues || []} empty="No data-quality issue." columns=${[
      { label: "Check", render: (i) => i.check },
      { label: "Column", render: (i) => i.column || "—" },
      { label: "Rate", num: true, render: (i) => `${(100 * (i.rate || 0)).toFixed(2)} %` },
      { label: "Examples", render: (i) => (i.examples || []).slice(0, 5).map((e) => html`<code>${JSON.stringify(e)}</code> `) },
      { label: "What", render: (i) => html`<small>${i.message}</small>` },
    ]} />
    <details><summary>Missing rates</summary><${Table} rows=${missing} columns=${[
      { label: "Column", render: (r) => r.col }, { label: "Current", num: true, render: (r) => `${(100 * r.rate).toFixed(2)} %` },
      { label: "Reference", num: true, render: (r) => (r.ref == null ? "—" : `${(100 * r.ref).toFixed(2)} %`) },
    ]} /></details>`;
}

function Performance({ results, latest }) {
  const keys = [...new Set(results.flatMap((r) => Object.keys(r.scores).filter((k) => /^performance\.(?!labelled|predictions|coverage)[^.]+$/.test(k) && !k.endsWith("_delta"))))];
  const p = latest && latest.performance;
  if (!keys.length && !p) return null;
  return html`<${Section} title="Performance from delayed labels">
    ${p ? html`<p data-testid="label-coverage">Label coverage <strong>${(100 * p.coverage).toFixed(1)} %</strong> (${p.labelled} of ${p.predictions} predictions labelled${p.late_labels ? `, ${p.late_labels} late` : ""}).</p><${KV} data=${p.metrics} />` : null}
    ${keys.length ? html`<${LineChart} series=${timeSeries(results, [...keys, "performance.coverage"], (k) => k.replace("performance.", ""))} xLabel="time" time=${true} />` : null}
  <//>`;
}

function Operations({ results, latest }) {
  const ops = results.filter((r) => r.operational);
  if (!ops.length) return null;
  const x = ops.map((r) => r.ts / 1000);
  const line = (label, f) => ({ label, x, y: ops.map((r) => f(r.operational)) });
  const o = latest && latest.operational;
  return html`<${Section} title="Latency, throughput and errors">
    ${o ? html`<${KV} data=${{ requests: o.requests, "throughput (rps)": o.throughput_rps, "error rate": o.error_rate, "p50 ms": o.latency_ms && o.latency_ms.p50, "p99 ms": o.latency_ms && o.latency_ms.p99, replicas: o.replicas, "cost per hour": o.cost_per_hour != null ? `${fmtNum(o.cost_per_hour)} ${o.currency}` : null, "cost per 1,000 predictions": o.cost_per_1k != null ? `${fmtNum(o.cost_per_1k)} ${o.currency}` : null, idle: o.idle ? "yes: no request in the window" : "no" }} />` : null}
    <div class="chart-grid">
      <div class="chart-card"><header><strong>latency (ms)</strong></header><${LineChart} testid="latency" series=${[line("p50", (o) => o.latency_ms && o.latency_ms.p50), line("p90", (o) => o.latency_ms && o.latency_ms.p90), line("p99", (o) => o.latency_ms && o.latency_ms.p99)]} xLabel="time" time=${true} height=${200} /></div>
      <div class="chart-card"><header><strong>throughput and errors</strong></header><${LineChart} series=${[line("rps", (o) => o.throughput_rps), line("error rate", (o) => o.error_rate)]} xLabel="time" time=${true} height=${200} /></div>
    </div>
  <//>`;
}

// -- alerts ---------------------------------------------------------------------------------
export function Alerts() {
  return html`<${PageHead} title="Alerts" /><${AlertTable} />`;
}

function AlertTable({ endpoint }) {
  const [state, setState] = useState("");
  const q = useApi(() => Promise.all([api.alerts({ endpoint, state: state || undefined }), api.automations()]), [endpoint, state], { poll: 5000 });
  return html`<div class="filter-bar"><select aria-label="state" onChange=${(e) => setState(e.target.value)}>${["", "pending", "firing", "resolved"].map((s) => html`<option value=${s} selected=${s === state}>${s || "any state"}</option>`)}</select></div>
    <${Await} q=${q} what="alerts">${([alerts, automations]) => html`<${Table} testid="alerts" rows=${alerts} empty="No alert." columns=${[
      { label: "#", key: "id", num: true },
      { label: "Rule", render: (a) => a.rule },
      { label: "Endpoint", render: (a) => (a.endpoint ? html`<${Link} href=${`/endpoints/${encodeURIComponent(a.endpoint)}`}>${a.endpoint}<//>` : "—") },
      { label: "Severity", render: (a) => html`<${Badge} value=${a.severity} />` },
      { label: "State", render: (a) => html`<${Badge} value=${a.state} />` },
      { label: "History", render: (a) => html`<small>first seen ${fmtTime(a.first_seen_at)}${a.fired_at ? ` · fired ${fmtTime(a.fired_at)}` : ""}${a.resolved_at ? ` · resolved ${fmtTime(a.resolved_at)}` : ""} · ${a.count}×</small>` },
      { label: "Evidence", render: (a) => html`<small>${(a.evidence && (a.evidence.condition || a.evidence.description)) || ""}</small>` },
      { label: "Automation", render: (a) => automations.filter((au) => au.endpoint === a.endpoint).map((au) => html`<${Link} href=${`/automations/${encodeURIComponent(au.name)}?alert=${a.id}`} data-testid="alert-automation">${au.name}<//>`) },
    ]} />`}<//>`;
}
