// Experiments, the run table, run detail and the comparison of runs.
import { useEffect, useMemo, useState } from "preact/hooks";
import { api } from "../api.js";
import { EChart, LineChart, PALETTE, preloadUplot, smooth, xValues } from "../charts.js";
import {
  Await, Badge, ErrorBox, Json, KV, Link, PageHead, Section, Table, Tabs, fmtBytes, fmtDuration,
  fmtNum, fmtTime, html, navigate, short, useApi, useQueryState,
} from "../lib.js";
import { ArtifactPreview } from "./artifacts.js";
import { PAGE_SIZES, runTableParams, runsState } from "./runsQuery.js";

export function Experiments() {
  const q = useApi(() => api.experiments(), []);
  return html`<${PageHead} title="Experiments" />
    <${Await} q=${q} what="experiments">${(rows) => html`<${Table} testid="experiments" rows=${rows} columns=${[
      { label: "Experiment", render: (e) => html`<${Link} href=${`/runs?experiment=${encodeURIComponent(e.name)}`}>${e.name}<//>` },
      { label: "Runs", key: "run_count", num: true },
      { label: "Created", render: (e) => fmtTime(e.created_at) },
    ]} />`}<//>`;
}

const asCols = (c) => [...c.metrics.map((k) => `metric:${k}`), ...c.params.map((k) => `param:${k}`)];

export function RunsPage() {
  const [qs, setQs] = useQueryState();
  const st = runsState(qs);
  const { experiments, filter, order, size, page } = st;
  // The keys and the automatic columns belong to the experiments they were listed for.
  const expKey = experiments.join("\0");
  const [meta, setMeta] = useState({ expKey: null, keys: null, auto: null });
  const keys = meta.expKey === expKey ? meta.keys : null;
  const chosen = qs.getAll("col");
  const cols = chosen.length ? chosen : (meta.expKey === expKey && meta.auto) || [];
  const [draft, setDraft] = useState(filter);
  const [selected, setSelected] = useState([]);
  useEffect(() => setDraft(filter), [filter]);

  const q = useApi(async () => {
    const data = await api.runTable(runTableParams(st, !!keys, cols));
    if (data.keys) setMeta((m) => ({ expKey, keys: data.keys, auto: cols.length ? m.auto : asCols(data.columns) }));
    return data;
  }, [expKey, filter, order, page, size, chosen.join("\0")]);
  const exps = useApi(() => api.experiments(), []);

  const sortBy = (key) => {
    const [cur, dir] = order.split(" ");
    const next = cur === key && dir !== "DESC" ? `${key} DESC` : `${key} ASC`;
    setQs({ order: next, page: 0 });
  };
  const sortMark = (key) => (order.split(" ")[0] === key ? (order.endsWith("DESC") ? " ▼" : " ▲") : "");
  const toggle = (id) => setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : s.length >= 10 ? s : [...s, id]));
  const filterError = q.error && q.error.status === 422 ? q.error : null;

  const head = (label, key) => html`<th class="sortable" onClick=${() => sortBy(key)}>${label}${sortMark(key)}</th>`;
  return html`<${PageHead} title="Runs" sub=${experiments.length ? `in ${experiments.join(", ")}` : "in every experiment"}>
      <button disabled=${selected.length < 2} data-testid="compare-button" onClick=${() => navigate(`/compare?runs=${selected.join(",")}`)}>Compare ${selected.length || ""}</button>
    <//>
    <form class="filter-bar" onSubmit=${(e) => { e.preventDefault(); setQs({ filter: draft.trim(), page: 0 }); }}>
      <select aria-label="Experiment" onChange=${(e) => setQs({ experiment: e.target.value || undefined, page: 0 })}>
        <option value="">All experiments</option>
        ${(exps.data || []).map((e) => html`<option value=${e.name} selected=${experiments.includes(e.name)}>${e.name}</option>`)}
      </select>
      <input class="filter" name="filter" data-testid="filter" placeholder="metrics.auc > 0.9 and params.depth = '3'" value=${draft} onInput=${(e) => setDraft(e.target.value)} spellcheck="false" />
      <button type="submit">Search</button>
      ${filter ? html`<button type="button" class="link" onClick=${() => setQs({ filter: undefined, page: 0 })}>Clear</button>` : null}
      <${ColumnChooser} keys=${keys} cols=${cols} onChange=${(next) => setQs({ col: next, page: 0 })} />
    </form>
    ${filterError ? html`<div class="filter-error" role="alert" data-testid="filter-error"><pre>${filterError.message}</pre></div>` : null}
    ${q.error && !filterError ? html`<${ErrorBox} error=${q.error} />` : null}
    ${q.data ? html`<div class=${`table-wrap runs ${q.loading ? "stale" : ""}`}>
      <table class="grid" data-testid="runs-table" data-total=${q.data.total}>
        <thead><tr><th></th>${head("Run", "run_name")}${head("Experiment", "experiment")}${head("Status", "status")}${head("Started", "start_time")}<th>Duration</th>
          ${cols.map((c) => { const [kind, key] = [c.slice(0, c.indexOf(":")), c.slice(c.indexOf(":") + 1)]; return head(key, `${kind === "param" ? "params" : "metrics"}.\`${key}\``); })}</tr></thead>
        <tbody>${q.data.rows.map((r) => html`<tr key=${r.id}>
          <td><input type="checkbox" aria-label=${`select ${r.name}`} checked=${selected.includes(r.id)} onChange=${() => toggle(r.id)} /></td>
          <td><${Link} href=${`/runs/${r.id}`}>${r.name || short(r.id)}<//></td>
          <td>${r.experiment}</td><td><${Badge} value=${r.status} /></td><td>${fmtTime(r.start_time)}</td>
          <td class="num">${fmtDuration(r.end_time != null ? r.end_time - r.start_time : null)}</td>
          ${cols.map((c) => { const key = c.slice(c.indexOf(":") + 1); const v = c.startsWith("param:") ? r.params[key] : r.metrics[key]; return html`<td class="num">${fmtNum(v)}</td>`; })}
        </tr>`)}</tbody>
      </table></div>
      <div class="pager" data-testid="pager">
        <span>${q.data.total ? `${page * size + 1}–${Math.min(q.data.total, (page + 1) * size)} of ${q.data.total.toLocaleString()}` : "No run matches."}</span>
        <button disabled=${page === 0} onClick=${() => setQs({ page: page - 1 })}>‹ Prev</button>
        <button disabled=${(page + 1) * size >= q.data.total} data-testid="next-page" onClick=${() => setQs({ page: page + 1 })}>Next ›</button>
        <select aria-label="Page size" onChange=${(e) => setQs({ size: e.target.value, page: 0 })}>${PAGE_SIZES.map((n) => html`<option value=${n} selected=${n === size}>${n} / page</option>`)}</select>
      </div>` : q.loading ? html`<p class="loading">Loading runs…</p>` : null}`;
}

function ColumnChooser({ keys, cols, onChange }) {
  if (!keys) return null;
  const flip = (c) => onChange(cols.includes(c) ? cols.filter((x) => x !== c) : [...cols, c]);
  const group = (title, kind, list) => html`<fieldset><legend>${title}</legend>${list.map((k) => html`<label><input type="checkbox" checked=${cols.includes(`${kind}:${k}`)} onChange=${() => flip(`${kind}:${k}`)} />${k}</label>`)}</fieldset>`;
  return html`<details class="columns"><summary>Columns (${cols.length})</summary><div class="chooser">${group("Metrics", "metric", keys.metrics)}${group("Params", "param", keys.params)}</div></details>`;
}

// -- one run ----------------------------------------------------------------------------------
export function RunDetail({ id }) {
  const q = useApi(() => api.run(id), [id]);
  const [qs, setQs] = useQueryState();
  const tab = qs.get("tab") || "overview";
  return html`<${Await} q=${q} what="run">${(run) => html`
    <${PageHead} title=${run.name || run.id} sub=${html`run <code>${run.id}</code> in <${Link} href=${`/runs?experiment=${encodeURIComponent(run.experiment)}`}>${run.experiment}<//>`}>
      <${Badge} value=${run.status} />
    <//>
    <${Tabs} tabs=${["overview", "charts", "artifacts"]} current=${tab} onChange=${(t) => setQs({ tab: t })} />
    ${tab === "overview" ? html`<${RunOverview} run=${run} />` : null}
    ${tab === "charts" ? html`<${MetricPanel} runs=${[run]} keys=${Object.keys(run.metrics)} />` : null}
    ${tab === "artifacts" ? html`<${RunArtifacts} run=${run} />` : null}`}<//>`;
}

function RunOverview({ run }) {
  const env = useApi(() => (run.env_digest ? api.environment(run.env_digest) : Promise.resolve(null)), [run.env_digest]);
  return html`<div class="cols">
    <${Section} title="Run"><${KV} data=${{
      started: fmtTime(run.start_time), ended: fmtTime(run.end_time), duration: fmtDuration(run.end_time != null ? run.end_time - run.start_time : null),
      user: run.user, host: run.host, source: run.source, "git commit": run.git_commit ? `${run.git_commit}${run.git_dirty ? " (dirty)" : ""}` : null, seed: run.seed,
    }} /><//>
    <${Section} title="Metrics (latest)"><${KV} data=${run.metrics} /><//>
    <${Section} title="Params"><${KV} data=${run.params} /><//>
    <${Section} title="Datasets used">${run.inputs.length ? html`<${Table} rows=${run.inputs} columns=${[
      { label: "Dataset", render: (i) => html`<${Link} href=${`/datasets/${encodeURIComponent(i.name || i.dataset)}/${i.version}`}>${i.name || i.dataset} v${i.version}<//>` },
      { label: "Context", render: (i) => i.context || "—" },
      { label: "Digest", render: (i) => html`<code>${short(i.digest, 12)}</code>` },
    ]} />` : html`<p class="muted">No dataset was logged as an input.</p>`}<//>
    <${Section} title="Tags"><${KV} data=${run.tags} /><//>
    <${Section} title="Environment">${env.data ? html`<details><summary>${env.data.python ? `Python ${env.data.python}` : "captured"} · ${Object.keys(env.data.packages || {}).length} packages</summary><${Json} value=${env.data} /></details>` : html`<p class="muted">${run.env_digest ? "Loading…" : "Not captured."}</p>`}<//>
  </div>`;
}

function RunArtifacts({ run }) {
  const [open, setOpen] = useState(null);
  return html`<${Section} title="Artifacts">
    <${Table} testid="artifacts" rows=${run.artifacts} empty="No artifact logged." columns=${[
      { label: "Path", render: (a) => html`<button class="link" onClick=${() => setOpen(a)}>${a.path}</button>` },
      { label: "Kind", key: "kind" },
      { label: "Size", render: (a) => fmtBytes(a.size), num: true },
      { label: "Digest", render: (a) => html`<code>${short(a.digest, 12)}</code>` },
    ]} />
    ${open ? html`<${ArtifactPreview} artifact=${open} key=${open.path} />` : null}
  <//>`;
}

// -- metric charts: server-downsampled, re-fetched when zoomed ---------------------------------
const AXES = { step: "step", time: "time", relative: "relative time (s)" };

export function MetricPanel({ runs, keys, single }) {
  preloadUplot();
  const [axis, setAxis] = useState("step");
  const [log, setLog] = useState(false);
  const [weight, setWeight] = useState(0);
  const [filterText, setFilterText] = useState("");
  const shown = keys.filter((k) => k.toLowerCase().includes(filterText.toLowerCase())).sort();
  if (!keys.length) return html`<p class="muted">No metric logged.</p>`;
  return html`<div class="chart-controls">
      <label>x axis <select data-testid="x-axis" value=${axis} onChange=${(e) => setAxis(e.target.value)}>${Object.entries(AXES).map(([k, v]) => html`<option value=${k}>${v}</option>`)}</select></label>
      <label><input type="checkbox" data-testid="log-scale" checked=${log} onChange=${(e) => setLog(e.target.checked)} /> log scale</label>
      <label>smoothing <input type="range" min="0" max="0.99" step="0.01" value=${weight} onInput=${(e) => setWeight(Number(e.target.value))} /> ${weight.toFixed(2)}</label>
      ${single ? null : html`<input placeholder="filter metrics" value=${filterText} onInput=${(e) => setFilterText(e.target.value)} />`}
      <small class="muted">Drag to zoom (more detail is fetched); double-click to reset.</small>
    </div>
    <div class="chart-grid">${shown.slice(0, 24).map((key) => html`<${MetricChart} key=${key} runs=${runs} metric=${key} axis=${axis} log=${log} weight=${weight} />`)}</div>`;
}

function MetricChart({ runs, metric, axis, log, weight }) {
  const [range, setRange] = useState(null);
  const q = useApi(
    () => Promise.all(runs.map((r) => api.metricSeries(r.id, metric, { points: 1500, min_step: range ? Math.floor(range[0]) : undefined, max_step: range ? Math.ceil(range[1]) : undefined }))),
    [runs.map((r) => r.id).join(","), metric, range && range.join(",")],
  );
  const series = useMemo(() => (q.data || []).map((s, i) => ({
    label: runs.length > 1 ? runs[i].name || short(runs[i].id) : metric,
    color: PALETTE[i % PALETTE.length],
    x: xValues(s, axis),
    y: smooth(log ? s.value.map((v) => (v > 0 ? v : null)) : s.value, weight),
  })), [q.data, axis, log, weight]);
  const total = (q.data || []).reduce((a, s) => a + s.total, 0);
  const sent = (q.data || []).reduce((a, s) => a + s.value.length, 0);
  // Zooming asks the server for the window's steps again, at full detail; on a time axis the
  // window's steps are read from the points drawn.
  const onZoom = (min, max) => {
    if (min == null) return setRange(null);
    if (axis === "step") return setRange([min, max]);
    const steps = (q.data || []).flatMap((s) => xValues(s, axis).flatMap((x, i) => (x >= min && x <= max ? [s.step[i]] : [])));
    if (steps.length) setRange([Math.min(...steps), Math.max(...steps)]);
    return undefined;
  };
  return html`<div class="chart-card" data-testid=${`chart-${metric}`}>
    <header><strong>${metric}</strong> <small class="muted">${q.data ? `${sent.toLocaleString()} of ${total.toLocaleString()} points${range ? " (zoomed)" : ""}` : ""}</small></header>
    ${q.error ? html`<${ErrorBox} error=${q.error} />` : q.data ? html`<${LineChart} testid=${`uplot-${metric}`} series=${series} xLabel=${AXES[axis]} time=${axis === "time"} log=${log} onZoom=${onZoom} />` : html`<div class="chart-placeholder">Loading…</div>`}
  </div>`;
}

// -- compare 2-10 runs -----------------------------------------------------------------------
export function CompareRuns() {
  const [qs, setQs] = useQueryState();
  const ids = (qs.get("runs") || "").split(",").filter(Boolean).slice(0, 10);
  const q = useApi(() => Promise.all(ids.map((id) => api.run(id))), [ids.join(",")]);
  if (ids.length < 2) return html`<${PageHead} title="Compare runs" /><p>Pick 2 to 10 runs on the <${Link} href="/runs">runs page<//> and press Compare.</p>`;
  return html`<${Await} q=${q} what="run">${(runs) => {
    const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
    const target = qs.get("metric") || metricKeys[0];
    return html`<${PageHead} title=${`Compare ${runs.length} runs`} sub=${runs.map((r) => r.name || short(r.id)).join(" · ")} />
      <${Section} title="Metric curves"><${MetricPanel} runs=${runs} keys=${metricKeys} /><//>
      <${Section} title="Params vs a metric" actions=${html`<select data-testid="target-metric" onChange=${(e) => setQs({ metric: e.target.value })}>${metricKeys.map((k) => html`<option selected=${k === target}>${k}</option>`)}</select>`}>
        <${ParallelView} runs=${runs} target=${target} />
      <//>
      <${Section} title="Param diff"><${ParamDiff} runs=${runs} /><//>`;
  }}<//>`;
}

function ParamDiff({ runs }) {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
  const [onlyDiff, setOnlyDiff] = useState(true);
  const differs = (k) => new Set(runs.map((r) => r.params[k])).size > 1;
  const rows = keys.filter((k) => !onlyDiff || differs(k));
  return html`<label><input type="checkbox" checked=${onlyDiff} onChange=${(e) => setOnlyDiff(e.target.checked)} /> only params that differ</label>
    <div class="table-wrap"><table class="grid" data-testid="param-diff"><thead><tr><th>param</th>${runs.map((r) => html`<th><${Link} href=${`/runs/${r.id}`}>${r.name || short(r.id)}<//></th>`)}</tr></thead>
    <tbody>${rows.map((k) => html`<tr class=${differs(k) ? "differs" : ""}><th>${k}</th>${runs.map((r) => html`<td>${r.params[k] ?? "—"}</td>`)}</tr>`)}</tbody></table></div>
    ${rows.length ? null : html`<p class="muted">The runs have the same params.</p>`}`;
}

function ParallelView({ runs, target }) {
  const option = useMemo(() => {
    const keys = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort().slice(0, 12);
    const numeric = (k) => runs.every((r) => r.params[k] == null || !Number.isNaN(Number(r.params[k])));
    const dims = keys.map((k, i) => numeric(k)
      ? { dim: i, name: k, type: "value" }
      : { dim: i, name: k, type: "category", data: [...new Set(runs.map((r) => String(r.params[k] ?? "—")))] });
    dims.push({ dim: keys.length, name: target, type: "value", nameTextStyle: { fontWeight: "bold" } });
    const data = runs.map((r, i) => ({
      name: r.name || short(r.id),
      value: [...keys.map((k) => (numeric(k) ? (r.params[k] == null ? null : Number(r.params[k])) : String(r.params[k] ?? "—"))), r.metrics[target] ?? null],
      lineStyle: { color: PALETTE[i % PALETTE.length], width: 2 },
    }));
    return { animation: false, tooltip: {}, parallelAxis: dims, parallel: { left: 60, right: 80, top: 40, bottom: 30 }, series: [{ type: "parallel", data }] };
  }, [runs, target]);
  return html`<${EChart} testid="parallel" option=${option} height=${320} />`;
}
