// Endpoints and rollouts: traffic split, a live rollout with its analysis, steering buttons.
import { useState } from "preact/hooks";
import { api } from "../api.js";
import { EChart, PALETTE } from "../charts.js";
import { Await, Badge, ErrorBox, KV, Link, PageHead, Section, Table, fmtNum, fmtTime, html, useApi, useMay } from "../lib.js";

const ACTIVE = ["pending", "progressing", "paused"];

export function Endpoints() {
  const q = useApi(() => Promise.all([api.endpoints(), api.allRollouts({ limit: 50 })]), [], { poll: 5000 });
  return html`<${PageHead} title="Endpoints" />
    <${Await} q=${q} what="endpoints">${([endpoints, rollouts]) => html`<${Table} testid="endpoints" rows=${endpoints} empty="No endpoint yet." columns=${[
      { label: "Endpoint", render: (e) => html`<${Link} href=${`/endpoints/${encodeURIComponent(e.name)}`}>${e.name}<//>` },
      { label: "Revision", key: "revision", num: true },
      { label: "Traffic", render: (e) => e.variants.map((v) => html`<span class="chip">${v.name}: ${v.model} v${v.version} · ${fmtNum(v.weight)}%</span>`) },
      { label: "Rollout", render: (e) => { const r = rollouts.find((x) => x.endpoint === e.name); return r ? html`<${Badge} value=${r.state} /> ${r.strategy}` : "—"; } },
      { label: "Updated", render: (e) => fmtTime(e.updated_at) },
    ]} />`}<//>`;
}

export function EndpointDetail({ name }) {
  const q = useApi(() => Promise.all([api.endpoint(name), api.rollouts(name)]), [name], { poll: 2000 });
  return html`<${Await} q=${q} what="endpoint">${([ep, rollouts]) => {
    const active = rollouts.find((r) => ACTIVE.includes(r.state));
    const shown = active || rollouts[0];
    return html`<${PageHead} title=${`Endpoint ${ep.name}`} sub=${`revision ${ep.revision} · updated ${fmtTime(ep.updated_at)}`}>
        <span class="live" title="refreshes every 2 s">● live</span>
      <//>
      <div class="cols">
        <${Section} title="Traffic split"><${Traffic} variants=${ep.variants} /><//>
        <${Section} title=${shown ? html`Rollout #${shown.id} <${Badge} value=${shown.state} />` : "Rollout"} actions=${html`<${Steer} name=${ep.name} rollout=${shown} onDone=${q.reload} />`}>
          ${shown ? html`<${RolloutView} r=${shown} />` : html`<p class="muted">No rollout yet.</p>`}
        <//>
      </div>
      <${Reports} name=${ep.name} rollouts=${rollouts} />
      <${Section} title="Rollouts"><${Table} testid="rollouts" rows=${rollouts} columns=${[
        { label: "#", key: "id", num: true },
        { label: "Strategy", key: "strategy", render: (r) => r.strategy },
        { label: "State", render: (r) => html`<${Badge} value=${r.state} />` },
        { label: "Target", render: (r) => (r.spec && r.spec.target ? `${r.spec.target.model} v${r.spec.target.version}` : "—") },
        { label: "Source", render: (r) => r.source || "—" },
        { label: "Started", render: (r) => fmtTime(r.created_at) },
        { label: "Message", render: (r) => r.message || "" },
      ]} /><//>
      <${Section} title="Revisions"><${Table} rows=${[...(ep.history || [])].reverse()} empty="No revision history returned." columns=${[
        { label: "Revision", key: "revision", num: true },
        { label: "Variants", render: (r) => r.variants.map((v) => `${v.name}: v${v.version} ${fmtNum(v.weight)}%`).join(", ") },
        { label: "Reason", render: (r) => r.reason || "—" },
        { label: "When", render: (r) => fmtTime(r.created_at) },
      ]} /><//>`;
  }}<//>`;
}

function Traffic({ variants }) {
  const option = {
    animation: false,
    tooltip: { trigger: "item", formatter: "{b}: {c}%" },
    grid: { left: 10, right: 10, top: 10, bottom: 10, containLabel: true },
    xAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
    yAxis: { type: "category", data: ["traffic"], show: false },
    series: variants.map((v, i) => ({ type: "bar", stack: "w", name: `${v.name} (${v.model} v${v.version}, ${v.role})`, data: [v.weight], itemStyle: { color: PALETTE[i % PALETTE.length] }, label: { show: v.weight > 8, formatter: `${v.name} ${fmtNum(v.weight)}%` } })),
  };
  return html`<div data-testid="traffic">${variants.map((v) => html`<span class="chip" data-variant=${v.name}>${v.name}: ${v.model} v${v.version} · ${fmtNum(v.weight)}%</span>`)}</div><${EChart} option=${option} height=${110} />`;
}

function RolloutView({ r }) {
  const steps = (r.spec && r.spec.spec && r.spec.spec.steps) || [];
  return html`<div data-testid="rollout" data-state=${r.state}>
    <${KV} data=${{ strategy: r.strategy, step: steps.length ? `${r.step + 1} of ${steps.length} (${steps.join("% → ")}%)` : r.step, weight: `${fmtNum(r.weight)}%`, "failed checks": r.failed_checks, "next step": r.next_at ? fmtTime(r.next_at) : "—", source: r.source, message: r.message }} />
    ${(r.analysis || []).length ? html`<h3>Analysis per step</h3>${r.analysis.map((a) => html`<div class="analysis">
      <div><strong>Step ${a.step + 1}</strong> at ${fmtNum(a.weight)}% · ${fmtTime(a.ts)} → decision <${Badge} value=${a.outcome} /></div>
      <${Table} rows=${a.checks} columns=${[
        { label: "Check", render: (c) => c.name },
        { label: "Status", render: (c) => html`<${Badge} value=${c.status} />` },
        { label: "Value", num: true, render: (c) => fmtNum(c.value) },
        { label: "Threshold", num: true, render: (c) => fmtNum(c.threshold) },
        { label: "Samples", num: true, render: (c) => c.samples },
        { label: "", render: (c) => html`<small>${c.message}</small>` },
      ]} />
    </div>`)}` : html`<p class="muted">No analysis yet.</p>`}
  </div>`;
}

const ACTIONS = {
  promote: (s) => ACTIVE.includes(s),
  pause: (s) => s === "progressing" || s === "pending",
  resume: (s) => s === "paused",
  abort: (s) => ACTIVE.includes(s),
  rollback: () => true,
};

function Steer({ name, rollout, onDone }) {
  const allowed = useMay("deployer", name);
  const [busy, setBusy] = useState(null);
  const [error, setError] = useState(null);
  if (!allowed) return null;
  const state = rollout ? rollout.state : null;
  const act = async (action) => {
    if ((action === "abort" || action === "rollback") && !window.confirm(`${action} the rollout of ${name}?`)) return;
    setBusy(action);
    setError(null);
    try {
      await api.steerRollout(name, action);
      await onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };
  return html`<div class="steer" data-testid="steer">
    ${Object.entries(ACTIONS).map(([action, ok]) => html`<button data-action=${action} class=${action === "abort" || action === "rollback" ? "danger" : ""} disabled=${busy !== null || !ok(state)} onClick=${() => act(action)}>${busy === action ? "…" : action}</button>`)}
    ${error ? html`<${ErrorBox} error=${error} />` : null}
  </div>`;
}

function Reports({ name, rollouts }) {
  const hasAb = rollouts.some((r) => r.strategy === "ab");
  const hasShadow = rollouts.some((r) => r.strategy === "shadow");
  const q = useApi(() => Promise.all([hasAb ? api.abReport(name) : null, hasShadow ? api.shadowReport(name) : null]), [name, hasAb, hasShadow], { poll: 5000 });
  if (!hasAb && !hasShadow) return null;
  return html`<${Await} q=${q} what="report">${([ab, shadow]) => html`
    ${ab ? html`<${Section} title="A/B report"><p>Requests: ${Object.entries(ab.requests).map(([arm, n]) => `${arm} ${n}`).join(" · ")} (α = ${ab.alpha})</p>
      <${Table} testid="ab-report" rows=${ab.comparisons} columns=${[
        { label: "Metric", render: (c) => c.metric }, { label: "Test", render: (c) => c.test },
        { label: "A", num: true, render: (c) => fmtNum(c.a) }, { label: "B", num: true, render: (c) => fmtNum(c.b) },
        { label: "Difference", num: true, render: (c) => fmtNum(c.difference) },
        { label: "95% CI", render: (c) => (c.ci_low == null ? "—" : `[${fmtNum(c.ci_low)}, ${fmtNum(c.ci_high)}]`) },
        { label: "p", num: true, render: (c) => fmtNum(c.p_value) },
        { label: "Significant", render: (c) => html`<${Badge} value=${c.significant ? "yes" : "no"} kind=${c.significant ? "ok" : "neutral"} />` },
        { label: "Needed n", num: true, render: (c) => fmtNum(c.min_sample_size) },
      ]} /><//>` : null}
    ${shadow ? html`<${Section} title="Shadow report"><div data-testid="shadow-report"><${KV} data=${shadow} /></div><//>` : null}`}<//>`;
}

