// Datasets (versions, schema, profile) and models (versions, aliases, lineage, card, checks).
import { useMemo, useState } from "preact/hooks";
import { api } from "../api.js";
import { EChart, histogramOption } from "../charts.js";
import {
  Await, Badge, ErrorBox, Json, KV, Link, PageHead, Section, Table, Tabs, fmtBytes, fmtNum, fmtTime,
  html, navigate, short, useApi, useQueryState,
} from "../lib.js";

export function Datasets() {
  const q = useApi(() => api.datasets(), []);
  return html`<${PageHead} title="Datasets" />
    <${Await} q=${q} what="datasets">${(rows) => html`<${Table} testid="datasets" rows=${rows} empty="No dataset yet." columns=${[
      { label: "Dataset", render: (d) => html`<${Link} href=${`/datasets/${encodeURIComponent(d.name)}`}>${d.name}<//>` },
      { label: "Versions", key: "versions", num: true },
      { label: "Latest", render: (d) => `v${d.latest}` },
      { label: "Created", render: (d) => fmtTime(d.created_at) },
    ]} />`}<//>`;
}

export function DatasetDetail({ name, version }) {
  const q = useApi(() => api.datasetVersions(name), [name]);
  return html`<${Await} q=${q} what="dataset">${(versions) => {
    const current = version ? versions.find((v) => String(v.version) === String(version)) : versions[versions.length - 1];
    if (!current) return html`<${ErrorBox} error=${{ message: `Dataset ${name} has no version ${version}. Versions: ${versions.map((v) => v.version).join(", ")}.`, status: 404 }} />`;
    return html`<${PageHead} title=${`${name} v${current.version}`} sub=${html`<code>datasets:/${name}/${current.version}</code> · ${current.row_count.toLocaleString()} rows · ${current.format}`} />
      <div class="cols">
        <${Section} title="Versions"><${Table} testid="dataset-versions" rows=${[...versions].reverse()} columns=${[
          { label: "Version", render: (v) => html`<${Link} href=${`/datasets/${encodeURIComponent(name)}/${v.version}`}>v${v.version}<//>${v.version === current.version ? " ◀" : ""}` },
          { label: "Rows", key: "row_count", num: true },
          { label: "Digest", render: (v) => html`<code>${short(v.digest, 12)}</code>` },
          { label: "Created", render: (v) => fmtTime(v.created_at) },
          { label: "Run", render: (v) => (v.run_id ? html`<${Link} href=${`/runs/${v.run_id}`}>${short(v.run_id)}<//>` : "—") },
        ]} /><//>
        <${Section} title="About"><${KV} data=${{ source: current.source, description: current.description, parents: (current.parents || []).join(", ") || null, blob: short(current.blob_digest, 16) }} /><//>
      </div>
      <${Section} title="Schema and profile"><${ProfileTable} schema=${current.schema} profile=${current.profile} /><//>`;
  }}<//>`;
}

function ProfileTable({ schema, profile }) {
  const [open, setOpen] = useState(null);
  const cols = (schema && schema.columns) || [];
  const stats = (profile && profile.columns) || {};
  const rows = cols.map((c) => ({ ...c, p: stats[c.name] || {} }));
  return html`<${Table} testid="schema" rows=${rows} columns=${[
      { label: "Column", render: (c) => html`<button class="link" onClick=${() => setOpen(c.name)}>${c.name}</button>` },
      { label: "Type", render: (c) => c.dtype },
      { label: "Nullable", render: (c) => (c.nullable ? "yes" : "no") },
      { label: "Missing", num: true, render: (c) => (c.p.count ? `${((100 * (c.p.missing || 0)) / (c.p.count + (c.p.missing || 0))).toFixed(1)} %` : "—") },
      { label: "Min", num: true, render: (c) => fmtNum(c.p.min ?? c.min) },
      { label: "Max", num: true, render: (c) => fmtNum(c.p.max ?? c.max) },
      { label: "Mean", num: true, render: (c) => (c.p.sum != null && c.p.count ? fmtNum(c.p.sum / c.p.count) : "—") },
      { label: "Categories", render: (c) => (c.categories ? c.categories.slice(0, 6).join(", ") + (c.categories.length > 6 ? "…" : "") : "—") },
    ]} />
    <div class="chart-grid">${rows.filter((c) => open ? c.name === open : true).slice(0, open ? 1 : 8).map((c) => html`<div class="chart-card"><header><strong>${c.name}</strong></header>${histogram(c.p) ? html`<${EChart} testid=${`hist-${c.name}`} height=${200} option=${histogram(c.p)} />` : html`<p class="muted">No histogram for this column.</p>`}</div>`)}</div>`;
}

export function histogram(p, other) {
  if (p && p.edges && p.hist) return histogramOption(p.edges, p.hist, other && other.hist);
  const top = p && (p.top || p.counts || p.categories);
  if (top && typeof top === "object" && !Array.isArray(top)) {
    const keys = Object.keys(top).slice(0, 20);
    return {
      animation: false, tooltip: {}, grid: { left: 50, right: 10, top: 10, bottom: 40 },
      xAxis: { type: "category", data: keys }, yAxis: { type: "value" },
      series: [{ type: "bar", data: keys.map((k) => top[k]) }],
    };
  }
  return null;
}

// -- models -----------------------------------------------------------------------------------
export function Models() {
  const q = useApi(() => api.models(), []);
  return html`<${PageHead} title="Models" />
    <${Await} q=${q} what="models">${(rows) => html`<${Table} testid="models" rows=${rows} empty="No model registered yet." columns=${[
      { label: "Model", render: (m) => html`<${Link} href=${`/models/${encodeURIComponent(m.name)}`}>${m.name}<//>` },
      { label: "Versions", key: "versions", num: true },
      { label: "Latest", render: (m) => `v${m.latest_version}` },
      { label: "Aliases", render: (m) => Object.entries(m.aliases || {}).map(([a, v]) => html`<span class="chip">@${a} → v${v}</span>`) },
      { label: "Created", render: (m) => fmtTime(m.created_at) },
    ]} />`}<//>`;
}

export function ModelDetail({ name, version }) {
  const q = useApi(() => Promise.all([api.modelVersions(name), api.aliasHistory(name), api.modelChecks(name), api.endpoints()]), [name]);
  const [qs, setQs] = useQueryState();
  const tab = qs.get("tab") || "overview";
  return html`<${Await} q=${q} what="model">${([versions, history, checks, endpoints]) => {
    if (!versions.length) return html`<p>No version yet.</p>`;
    const mv = version ? versions.find((v) => String(v.version) === String(version)) : versions[versions.length - 1];
    if (!mv) return html`<section class="not-found" data-testid="not-found"><h1>404 — version not found</h1><p>Model ${name} has no version ${version}. Versions: ${versions.map((v) => v.version).join(", ")}.</p></section>`;
    const serving = endpoints.filter((e) => e.variants.some((v) => v.model === name && v.version === mv.version));
    const vchecks = checks.filter((c) => c.version === mv.version);
    return html`<${PageHead} title=${`${name} v${mv.version}`} sub=${html`<code>models:/${name}/${mv.version}</code> · ${mv.flavor} · ${mv.task} · ${fmtBytes(mv.size_bytes)}`}>
        ${(mv.aliases || []).map((a) => html`<span class="chip">@${a}</span>`)} <${Badge} value=${mv.status} />
      <//>
      <${Tabs} tabs=${["overview", "lineage", "checks", "signature", "capacity", "card"]} current=${tab} onChange=${(t) => setQs({ tab: t })} />
      ${tab === "overview" ? html`<div class="cols">
        <${Section} title="Versions"><${Table} testid="model-versions" rows=${[...versions].reverse()} columns=${[
          { label: "Version", render: (v) => html`<${Link} href=${`/models/${encodeURIComponent(name)}/versions/${v.version}`}>v${v.version}<//>${v.version === mv.version ? " ◀" : ""}` },
          { label: "Aliases", render: (v) => (v.aliases || []).map((a) => html`<span class="chip">@${a}</span>`) },
          { label: "Status", render: (v) => html`<${Badge} value=${v.status} />` },
          { label: "Created", render: (v) => fmtTime(v.created_at) },
          { label: "By", render: (v) => v.created_by || "—" },
        ]} /><//>
        <${Section} title="Alias history"><${Table} testid="alias-history" rows=${[...history].reverse()} empty="No alias set yet." columns=${[
          { label: "When", render: (h) => fmtTime(h.ts) },
          { label: "Alias", render: (h) => `@${h.alias}` },
          { label: "Change", render: (h) => `${h.from_version == null ? "—" : `v${h.from_version}`} → ${h.to_version == null ? "removed" : `v${h.to_version}`}` },
          { label: "By", key: "actor" },
        ]} /><//>
        <${Section} title="This version"><${KV} data=${{ description: mv.description, run: mv.run_id, "git commit": mv.git_commit, datasets: mv.datasets.join(", ") || null, created: fmtTime(mv.created_at) }} /><//>
        <${Section} title="Metrics"><${KV} data=${mv.metrics} /><//>
        <${Section} title="Feature importance"><${Importance} card=${mv.card} /><//>
      </div>` : null}
      ${tab === "lineage" ? html`<${Section} title="Lineage: dataset → run → version → endpoint"><${Lineage} mv=${mv} endpoints=${serving} /><//>` : null}
      ${tab === "checks" ? html`<${ChecksView} results=${vchecks} />` : null}
      ${tab === "signature" ? html`<${Section} title="Signature"><${Signature} sig=${mv.signature} /><//>` : null}
      ${tab === "capacity" ? html`<${Capacity} card=${mv.card} address=${`models:/${name}/${mv.version}`} />` : null}
      ${tab === "card" ? html`<${Section} title="Model card">${Object.keys(mv.card || {}).length ? html`<${Card} card=${mv.card} />` : html`<p class="muted">No card was written for this version.</p>`}<//>` : null}`;
  }}<//>`;
}

function Importance({ card }) {
  const imp = card && (card.feature_importance || card.importance);
  if (!imp || typeof imp !== "object") return html`<p class="muted">Not known for this version.</p>`;
  const entries = (Array.isArray(imp) ? imp.map((e) => [e.feature || e.name, e.importance ?? e.value]) : Object.entries(imp)).sort((a, b) => b[1] - a[1]).slice(0, 20);
  const option = { animation: false, grid: { left: 120, right: 20, top: 10, bottom: 20 }, xAxis: { type: "value" }, yAxis: { type: "category", data: entries.map((e) => e[0]).reverse() }, series: [{ type: "bar", data: entries.map((e) => e[1]).reverse() }] };
  return html`<${EChart} option=${option} height=${Math.max(160, entries.length * 22)} />`;
}

// The capacity curves `mainsail loadtest` stored on the version (card.capacity, one per
// worker count): throughput against p50/p99, and each step's figures.
function Capacity({ card, address }) {
  const curves = Object.values((card && card.capacity) || {}).filter((c) => c && Array.isArray(c.points)).sort((a, b) => (a.workers || 0) - (b.workers || 0));
  if (!curves.length) return html`<p class="muted" data-testid="no-capacity">No load test is stored for this version. Record one with <code>mainsail loadtest ${address}</code>.</p>`;
  const label = (p) => (p.target_rps != null ? `${p.target_rps}/s` : `c=${p.concurrency}`);
  return curves.map((c) => {
    const pts = c.points.filter((p) => p.requests > 0 && p.p99_ms != null).sort((a, b) => a.rps - b.rps);
    const option = {
      animation: false, grid: { left: 60, right: 20, top: 30, bottom: 44 }, legend: { data: ["p50", "p99"] }, tooltip: { trigger: "axis" },
      xAxis: { type: "value", name: "requests/s", nameLocation: "middle", nameGap: 28 }, yAxis: { type: "value", name: "latency (ms)" },
      series: ["p50", "p99"].map((q) => ({ name: q, type: "line", data: pts.map((p) => [p.rps, p[`${q}_ms`]]) })),
    };
    return html`<${Section} title=${`${c.workers || "?"} worker(s) · ${c.rows_per_request} row(s) per request · ${c.generator} · ${fmtTime(c.created_at)}`}>
      <${EChart} testid="capacity-chart" option=${option} height=${240} />
      <${Table} testid="capacity-points" rows=${c.points} columns=${[
        { label: "Load", render: label },
        { label: "req/s", render: (p) => fmtNum(p.rps), num: true },
        { label: "rows/s", render: (p) => fmtNum(p.rows_per_s), num: true },
        { label: "p50 ms", render: (p) => fmtNum(p.p50_ms), num: true },
        { label: "p99 ms", render: (p) => fmtNum(p.p99_ms), num: true },
        { label: "Errors", render: (p) => `${p.errors} (${(100 * p.error_rate).toFixed(1)} %)` },
        { label: "CPU per worker", render: (p) => (p.cpu_percent || []).map((v) => `${v.toFixed(0)} %`).join(" ") || "—" },
        { label: "RSS MB per worker", render: (p) => (p.memory_mb || []).map((v) => v.toFixed(0)).join(" ") || "—" },
        { label: "Rate not delivered", render: (p) => p.shortfall || "" },
      ]} /><//>`;
  });
}

function Card({ card }) {
  return html`<div class="model-card">${Object.entries(card).filter(([k]) => k !== "capacity").map(([k, v]) => html`<div><h3>${k.replace(/_/g, " ")}</h3>${typeof v === "string" ? html`<p>${v}</p>` : typeof v === "object" && v && !Array.isArray(v) ? html`<${KV} data=${v} />` : html`<${Json} value=${v} />`}</div>`)}</div>`;
}

function Signature({ sig }) {
  const inputs = (sig && sig.inputs && sig.inputs.columns) || [];
  return html`<${Table} testid="signature" rows=${inputs} empty="No input signature." columns=${[
      { label: "Input", key: "name", render: (c) => c.name },
      { label: "Type", render: (c) => c.dtype },
      { label: "Nullable", render: (c) => (c.nullable ? "yes" : "no") },
      { label: "Range / categories", render: (c) => (c.categories ? c.categories.join(", ") : c.min != null ? `${fmtNum(c.min)} … ${fmtNum(c.max)}` : "—") },
    ]} />
    <h3>Outputs</h3><${KV} data=${(sig && sig.outputs) || {}} />`;
}

export function ChecksView({ results }) {
  if (!results.length) return html`<p class="muted">No release check was run for this version.</p>`;
  return html`${results.map((r) => html`<${Section} title=${html`Check result #${r.id} <${Badge} value=${r.verdict} />`} actions=${html`<small class="muted">${r.baseline_version ? `against v${r.baseline_version}` : ""} ${fmtTime(r.created_at)}</small>`}>
    <${Table} testid="check-rows" rows=${r.checks} columns=${[
      { label: "Check", key: "name", render: (c) => c.name },
      { label: "Status", render: (c) => html`<${Badge} value=${c.status} />` },
      { label: "Value", num: true, render: (c) => fmtNum(c.value) },
      { label: "Threshold", num: true, render: (c) => fmtNum(c.threshold) },
      { label: "Detail", render: (c) => c.detail },
    ]} />
  <//>`)}`;
}

function Lineage({ mv, endpoints }) {
  const run = useApi(() => (mv.run_id ? api.run(mv.run_id) : Promise.resolve(null)), [mv.run_id]);
  const option = useMemo(() => {
    const nodes = [];
    const links = [];
    const add = (id, label, col, row, href, color) => nodes.push({ id, name: label, x: col * 240, y: row * 70, href, itemStyle: { color }, symbolSize: 18, label: { show: true, position: "bottom" } });
    const r = run.data;
    const datasets = [...new Set([...(mv.datasets || []), ...((r && r.inputs) || []).map((i) => `datasets:/${i.name || i.dataset}/${i.version}`)])];
    datasets.forEach((d, i) => {
      const [, dn, dv] = d.match(/^datasets:\/(.+)\/(\d+)$/) || [null, d, ""];
      add(`d:${d}`, `${dn} v${dv}`, 0, i, `/datasets/${encodeURIComponent(dn)}/${dv}`, "#0891b2");
    });
    // A pipeline's run names its dataset as a param (no version recorded): shown as such.
    if (!datasets.length && r && r.params.dataset) {
      datasets.push(r.params.dataset);
      add(`d:${r.params.dataset}`, `${r.params.dataset} (param)`, 0, 0, `/datasets/${encodeURIComponent(r.params.dataset)}`, "#0891b2");
    }
    const vid = `v:${mv.version}`;
    const pipelineRun = r && r.tags["mainsail.pipeline_run"];
    if (mv.run_id) {
      add(`r:${mv.run_id}`, r ? r.name || short(mv.run_id) : short(mv.run_id), 1, 0, `/runs/${mv.run_id}`, "#9333ea");
      datasets.forEach((d) => links.push({ source: `d:${d}`, target: `r:${mv.run_id}` }));
      links.push({ source: `r:${mv.run_id}`, target: vid });
      if (pipelineRun) {
        add(`p:${pipelineRun}`, `pipeline ${short(pipelineRun)}`, 1, 1, `/pipelines/runs/${pipelineRun}`, "#ca8a04");
        links.push({ source: `p:${pipelineRun}`, target: `r:${mv.run_id}` });
      }
    } else datasets.forEach((d) => links.push({ source: `d:${d}`, target: vid }));
    add(vid, `${mv.name} v${mv.version}`, 2, 0, `/models/${encodeURIComponent(mv.name)}/versions/${mv.version}`, "#2563eb");
    endpoints.forEach((e, i) => {
      add(`e:${e.name}`, `endpoint ${e.name}`, 3, i, `/endpoints/${encodeURIComponent(e.name)}`, "#16a34a");
      links.push({ source: vid, target: `e:${e.name}` });
    });
    return {
      animation: false, tooltip: { formatter: (p) => (p.data && p.data.name) || "" },
      series: [{ type: "graph", layout: "none", roam: true, data: nodes, links, edgeSymbol: ["none", "arrow"], edgeSymbolSize: 8, lineStyle: { width: 1.5, color: "#94a3b8" } }],
    };
  }, [mv, endpoints, run.data]);
  return html`<${EChart} testid="lineage" option=${option} height=${260} onClick=${(p) => p.data && p.data.href && navigate(p.data.href)} />
    <p class="muted">Click a node to open it.${mv.run_id ? null : " This version was registered without a run."}</p>`;
}
