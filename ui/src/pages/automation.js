// Automations (the trail as a timeline), pipeline runs (a DAG), jobs and workers.
import { useMemo, useState } from "preact/hooks";
import { api } from "../api.js";
import { EChart } from "../charts.js";
import { Await, Badge, Json, KV, Link, PageHead, Section, Table, fmtDuration, fmtTime, html, short, useApi, useQueryState } from "../lib.js";

export function Automations() {
  const q = useApi(() => api.automations(), [], { poll: 5000 });
  return html`<${PageHead} title="Automations" />
    <${Await} q=${q} what="automations">${(rows) => html`<${Table} testid="automations" rows=${rows} empty="No automation yet." columns=${[
      { label: "Automation", render: (a) => html`<${Link} href=${`/automations/${encodeURIComponent(a.name)}`}>${a.name}<//>` },
      { label: "Endpoint", render: (a) => a.endpoint },
      { label: "Triggers", render: (a) => (a.spec.triggers || []).map((t) => t.type).join(", ") },
      { label: "Pipeline", render: (a) => html`<code>${a.spec.pipeline}</code>` },
      { label: "Enabled", render: (a) => html`<${Badge} value=${a.enabled ? "enabled" : "disabled"} kind=${a.enabled ? "ok" : "neutral"} />` },
      { label: "Last outcome", render: (a) => (a.state && a.state.last_outcome ? html`<${Badge} value=${a.state.last_outcome} />` : "—") },
      { label: "Last triggered", render: (a) => fmtTime(a.last_triggered_at) },
    ]} />`}<//>`;
}

// The stages of one trigger's trail, in order: each event links to what it produced.
function eventLinks(e, a) {
  const links = [];
  if (e.job_id != null) links.push(html`<${Link} href=${`/jobs?job=${e.job_id}`}>job ${e.job_id}<//>`);
  if (e.pipeline_run_id) links.push(html`<${Link} href=${`/pipelines/runs/${e.pipeline_run_id}`}>pipeline ${short(e.pipeline_run_id)}<//>`);
  if (e.model_version != null) links.push(html`<${Link} href=${`/models/${encodeURIComponent(a.spec.model)}/versions/${e.model_version}`}>${a.spec.model} v${e.model_version}<//>`);
  if (e.check_result_id != null) links.push(html`<${Link} href=${`/models/${encodeURIComponent(a.spec.model)}/versions/${e.model_version}?tab=checks`}>check ${e.check_result_id}<//>`);
  if (e.rollout_id != null) links.push(html`<${Link} href=${`/endpoints/${encodeURIComponent(a.endpoint)}`}>rollout ${e.rollout_id}<//>`);
  return links;
}

export function AutomationDetail({ name }) {
  const q = useApi(() => Promise.all([api.automation(name), api.automationEvents(name)]), [name], { poll: 3000 });
  const [qs] = useQueryState();
  const alert = qs.get("alert");
  const [showSuppressed, setShowSuppressed] = useState(false);
  return html`<${Await} q=${q} what="automation">${([a, events]) => {
    // Group the trail by the trigger's job: one run of the loop per group.
    const runs = [];
    for (const e of [...events].sort((x, y) => x.ts - y.ts)) {
      if (e.status === "suppressed" && !showSuppressed) continue;
      const key = e.job_id != null ? `job ${e.job_id}` : `${e.trigger} ${e.id}`;
      let run = runs.find((r) => r.key === key);
      if (!run) { run = { key, events: [], alertKey: (e.detail && e.detail.key) || "" }; runs.push(run); }
      run.events.push(e);
    }
    const fromAlert = (r) => alert && r.alertKey.startsWith(`alert:${alert}:`);
    return html`<${PageHead} title=${`Automation ${a.name}`} sub=${`on endpoint ${a.endpoint} · model ${a.spec.model} · pipeline ${a.spec.pipeline}`}>
        <span class="live">● live</span><${Badge} value=${a.enabled ? "enabled" : "disabled"} kind=${a.enabled ? "ok" : "neutral"} />
      <//>
      <${Section} title="Trail: trigger → job → pipeline run → version → check → rollout" actions=${html`<label><input type="checkbox" checked=${showSuppressed} onChange=${(e) => setShowSuppressed(e.target.checked)} /> show suppressed triggers</label>`}>
        ${runs.length ? html`<${EChart} testid="trail-chart" height=${220} option=${trailOption(runs)} />` : null}
        ${runs.length ? html`<div class="timeline" data-testid="timeline">${[...runs].reverse().map((r) => html`<div class=${`trail ${fromAlert(r) ? "highlight" : ""}`} data-testid=${fromAlert(r) ? "alert-trail" : "trail"}>
          <h3>${r.key}${fromAlert(r) ? html` <span class="chip">started by alert #${alert}</span>` : null}</h3>
          <ol>${r.events.map((e) => html`<li><span class="ts">${fmtTime(e.ts)}</span> <${Badge} value=${e.status} /> <small>${e.trigger}</small>
            ${eventLinks(e, a).map((l) => html` · ${l}`)}
            ${e.detail && (e.detail.summary || e.detail.address || e.detail.verdict || e.detail.strategy || e.detail.reason) ? html` <small class="muted">${e.detail.summary || e.detail.address || e.detail.verdict || e.detail.strategy || e.detail.reason}</small>` : null}</li>`)}</ol>
        </div>`)}</div>` : html`<p class="muted">Not triggered yet.</p>`}
      <//>
      <div class="cols">
        <${Section} title="State"><${KV} data=${a.state || {}} /><//>
        <${Section} title="Spec"><${Json} value=${a.spec} /><//>
      </div>`;
  }}<//>`;
}

// Each run of the loop as a line across the stages, over time.
function trailOption(runs) {
  const stages = [];
  for (const r of runs) for (const e of r.events) if (!stages.includes(e.status)) stages.push(e.status);
  return {
    animation: false,
    tooltip: { trigger: "item", formatter: (p) => `${p.seriesName}: ${p.data[1]}<br>${new Date(p.data[0]).toLocaleString()}` },
    legend: { top: 0, type: "scroll" },
    grid: { left: 110, right: 20, top: 30, bottom: 30 },
    xAxis: { type: "time" },
    yAxis: { type: "category", data: stages, inverse: true },
    series: runs.slice(-10).map((r) => ({ name: r.key, type: "line", step: false, symbolSize: 8, data: r.events.map((e) => [e.ts, e.status]) })),
  };
}

export function Pipelines() {
  const q = useApi(() => api.pipelineRuns({ limit: 200 }), [], { poll: 5000 });
  return html`<${PageHead} title="Pipeline runs" />
    <${Await} q=${q} what="pipeline runs">${(rows) => html`<${Table} testid="pipeline-runs" rows=${rows} empty="No pipeline run yet." columns=${[
      { label: "Run", render: (p) => html`<${Link} href=${`/pipelines/runs/${p.id}`}>${short(p.id)}<//>` },
      { label: "Pipeline", render: (p) => p.pipeline },
      { label: "Status", render: (p) => html`<${Badge} value=${p.status} />` },
      { label: "Steps", render: (p) => `${p.steps.length} (${p.steps.filter((s) => s.cached_from).length} cached)` },
      { label: "Started", render: (p) => fmtTime(p.created_at) },
      { label: "Duration", num: true, render: (p) => fmtDuration(p.finished_at ? p.finished_at - p.created_at : null) },
      { label: "Tracking run", render: (p) => (p.run_id ? html`<${Link} href=${`/runs/${p.run_id}`}>${short(p.run_id)}<//>` : "—") },
    ]} />`}<//>`;
}

function dagOption(steps) {
  const names = steps.map((s) => s.step);
  const deps = {};
  for (const s of steps) {
    deps[s.step] = [...new Set(Object.values(s.inputs || {}).map((i) => i && i.from && i.from.split(".")[0]).filter((d) => d && names.includes(d)))];
  }
  const level = {};
  const depth = (n, seen = new Set()) => {
    if (level[n] != null) return level[n];
    if (seen.has(n)) return 0;
    seen.add(n);
    level[n] = deps[n].length ? 1 + Math.max(...deps[n].map((d) => depth(d, seen))) : 0;
    return level[n];
  };
  names.forEach((n) => depth(n));
  const rows = {};
  const color = (s) => (s.cached_from ? "#0891b2" : s.status === "succeeded" ? "#16a34a" : s.status === "failed" ? "#dc2626" : "#ca8a04");
  const data = steps.map((s) => {
    const col = level[s.step];
    rows[col] = (rows[col] || 0) + 1;
    const dur = s.finished_at && s.started_at ? fmtDuration(s.finished_at - s.started_at) : "—";
    return {
      name: s.step, x: col * 220, y: rows[col] * 90, symbol: "roundRect", symbolSize: [150, 44], itemStyle: { color: color(s) },
      label: { show: true, color: "#fff", formatter: `{b}\n${s.cached_from ? "cached" : s.status} · ${dur}` }, id: String(s.id),
    };
  });
  const links = steps.flatMap((s) => deps[s.step].map((d) => ({ source: d, target: s.step })));
  const maxRows = Math.max(1, ...Object.values(rows));
  return { maxRows, animation: false, tooltip: {}, series: [{ type: "graph", layout: "none", data, links, edgeSymbol: ["none", "arrow"], edgeSymbolSize: 10, lineStyle: { width: 2, color: "#94a3b8" }, roam: true }] };
}

export function PipelineRunDetail({ id }) {
  const q = useApi(() => api.pipelineRun(id), [id], { poll: 3000 });
  const [open, setOpen] = useState(null);
  return html`<${Await} q=${q} what="pipeline run">${(p) => html`
    <${PageHead} title=${`Pipeline ${p.pipeline}`} sub=${html`run <code>${p.id}</code> · ${fmtTime(p.created_at)} · ${fmtDuration(p.finished_at ? p.finished_at - p.created_at : null)}`}><${Badge} value=${p.status} /><//>
    <${Section} title="Steps"><${EChart} testid="dag" option=${dagOption(p.steps)} height=${Math.max(200, 60 + 90 * dagOption(p.steps).maxRows)} onClick=${(e) => e.data && setOpen(e.data.name)} />
      <p class="muted">Green: ran · blue: from the cache · red: failed. Click a step for its inputs and outputs.</p><//>
    <${Table} testid="steps" rows=${p.steps} columns=${[
      { label: "Step", render: (s) => html`<button class="link" onClick=${() => setOpen(s.step)}>${s.step}</button>` },
      { label: "Status", render: (s) => html`<${Badge} value=${s.cached_from ? "cached" : s.status} />` },
      { label: "Duration", num: true, render: (s) => fmtDuration(s.finished_at && s.started_at ? s.finished_at - s.started_at : null) },
      { label: "Why it ran", render: (s) => html`<small>${(s.reason || []).join("; ") || (s.cached_from ? `cache of ${short(String(s.cached_from))}` : "—")}</small>` },
      { label: "Outputs", render: (s) => Object.entries(s.output_meta || {}).map(([k, o]) => html`<span class="chip">${k}: ${o.type || ""} ${o.size != null ? `${Math.round(o.size / 1024)} KiB` : ""}</span>`) },
    ]} />
    ${open ? html`<${Section} title=${`Step ${open}`}><${Json} value=${p.steps.find((s) => s.step === open)} /><//>` : null}
    <div class="cols"><${Section} title="Params"><${KV} data=${p.params} /><//><${Section} title="Trigger">${p.trigger ? html`<${Json} value=${p.trigger} />` : html`<p class="muted">Started by hand.</p>`}<//></div>
    ${p.error ? html`<${Section} title="Error"><pre class="text">${typeof p.error === "string" ? p.error : JSON.stringify(p.error, null, 2)}</pre><//>` : null}`}<//>`;
}

export function Jobs() {
  const [qs, setQs] = useQueryState();
  const status = qs.get("status") || "";
  const focus = qs.get("job");
  const q = useApi(() => api.jobs({ status: status || undefined, limit: 200 }), [status], { poll: 2000 });
  const workers = useMemo(() => {
    const by = {};
    for (const j of q.data || []) {
      if (!j.claimed_by) continue;
      const w = (by[j.claimed_by] = by[j.claimed_by] || { worker: j.claimed_by, running: 0, done: 0, failed: 0, last: 0 });
      if (j.status === "running") w.running++;
      if (j.status === "done") w.done++;
      if (j.status === "failed") w.failed++;
      w.last = Math.max(w.last, j.heartbeat_at || 0, j.finished_at || 0);
    }
    return Object.values(by);
  }, [q.data]);
  return html`<${PageHead} title="Jobs"><span class="live">● live</span><//>
    <div class="filter-bar"><select aria-label="status" onChange=${(e) => setQs({ status: e.target.value })}>${["", "queued", "running", "done", "failed"].map((s) => html`<option value=${s} selected=${s === status}>${s || "any status"}</option>`)}</select></div>
    <${Await} q=${q} what="jobs">${(rows) => html`<${Table} testid="jobs" rows=${rows} empty="No job." columns=${[
      { label: "#", render: (j) => html`<span class=${String(j.id) === focus ? "chip" : ""}>${j.id}</span>` },
      { label: "Kind", render: (j) => j.kind },
      { label: "Queue", render: (j) => j.queue },
      { label: "Status", render: (j) => html`<${Badge} value=${j.status} />` },
      { label: "Attempts", render: (j) => `${j.attempts} / ${j.max_attempts}` },
      { label: "Worker", render: (j) => j.claimed_by || "—" },
      { label: "Created", render: (j) => fmtTime(j.created_at) },
      { label: "Took", num: true, render: (j) => fmtDuration(j.finished_at && j.claimed_at ? j.finished_at - j.claimed_at : null) },
      { label: "Result", render: (j) => (j.error ? html`<small class="bad">${String(j.error).slice(0, 160)}</small>` : j.result ? html`<small>${j.result.pipeline_run_id ? html`<${Link} href=${`/pipelines/runs/${j.result.pipeline_run_id}`}>pipeline run<//> · ` : null}${j.result.status || ""}</small>` : "—") },
    ]} />
    <${Section} title="Workers (from the jobs they claimed)"><${Table} testid="workers" rows=${workers} empty="No worker has claimed a job yet." columns=${[
      { label: "Worker", render: (w) => w.worker }, { label: "Running", key: "running", num: true }, { label: "Done", key: "done", num: true },
      { label: "Failed", key: "failed", num: true }, { label: "Last seen", render: (w) => fmtTime(w.last) },
    ]} /><//>`}<//>`;
}

