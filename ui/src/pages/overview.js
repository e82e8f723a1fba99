// The overview: what is serving, what is rolling out, what is firing, what ran last.
import { api } from "../api.js";
import { Await, Badge, Link, PageHead, Section, Table, fmtNum, fmtTime, html, useApi } from "../lib.js";

export function Overview() {
  const q = useApi(() => Promise.all([api.endpoints(), api.allRollouts({ limit: 10 }), api.alerts({ state: "firing" }), api.models(), api.runTable({ limit: 8 }), api.experiments()]), [], { poll: 5000 });
  return html`<${PageHead} title="Overview" sub="The loop: track → version → gate → serve → deliver → monitor → retrain" />
    <${Await} q=${q} what="overview">${([endpoints, rollouts, alerts, models, runs, experiments]) => html`
      <div class="stats">
        <${Link} href="/experiments" class="stat"><strong>${experiments.length}</strong> experiments<//>
        <${Link} href="/runs" class="stat"><strong>${runs.total.toLocaleString()}</strong> runs<//>
        <${Link} href="/models" class="stat"><strong>${models.length}</strong> models<//>
        <${Link} href="/endpoints" class="stat"><strong>${endpoints.length}</strong> endpoints<//>
        <${Link} href="/alerts" class=${`stat ${alerts.length ? "bad" : ""}`}><strong>${alerts.length}</strong> alerts firing<//>
      </div>
      <div class="cols">
        <${Section} title="Endpoints"><${Table} rows=${endpoints} empty="No endpoint yet." columns=${[
          { label: "Endpoint", render: (e) => html`<${Link} href=${`/endpoints/${encodeURIComponent(e.name)}`}>${e.name}<//>` },
          { label: "Serving", render: (e) => e.variants.map((v) => html`<span class="chip">${v.model} v${v.version} · ${fmtNum(v.weight)}%</span>`) },
        ]} /><//>
        <${Section} title="Recent rollouts"><${Table} rows=${rollouts} empty="No rollout yet." columns=${[
          { label: "Endpoint", render: (r) => html`<${Link} href=${`/endpoints/${encodeURIComponent(r.endpoint)}`}>${r.endpoint}<//>` },
          { label: "Strategy", render: (r) => r.strategy }, { label: "State", render: (r) => html`<${Badge} value=${r.state} />` },
          { label: "Started", render: (r) => fmtTime(r.created_at) },
        ]} /><//>
        <${Section} title="Firing alerts"><${Table} rows=${alerts} empty="Nothing is firing." columns=${[
          { label: "Rule", render: (a) => html`<${Link} href="/alerts">${a.rule}<//>` }, { label: "Endpoint", render: (a) => a.endpoint },
          { label: "Severity", render: (a) => html`<${Badge} value=${a.severity} />` }, { label: "Since", render: (a) => fmtTime(a.fired_at) },
        ]} /><//>
        <${Section} title="Latest runs"><${Table} rows=${runs.rows} empty="No run yet." columns=${[
          { label: "Run", render: (r) => html`<${Link} href=${`/runs/${r.id}`}>${r.name || r.id.slice(0, 8)}<//>` },
          { label: "Experiment", render: (r) => r.experiment }, { label: "Status", render: (r) => html`<${Badge} value=${r.status} />` },
          { label: "Started", render: (r) => fmtTime(r.start_time) },
        ]} /><//>
      </div>`}<//>`;
}
