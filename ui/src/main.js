// The app: who is calling, the layout, and the table of pages by URL.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "./style.css";
import { api, token } from "./api.js";
import { ErrorBox, Link, Loading, Me, NotFound, html, navigate, useLocation } from "./lib.js";
import { Overview } from "./pages/overview.js";
import { CompareRuns, Experiments, RunDetail, RunsPage } from "./pages/runs.js";
import { DatasetDetail, Datasets, ModelDetail, Models } from "./pages/registry.js";
import { EndpointDetail, Endpoints } from "./pages/delivery.js";
import { Alerts, MonitorDetail, Monitors } from "./pages/monitoring.js";
import { AutomationDetail, Automations, Jobs, PipelineRunDetail, Pipelines } from "./pages/automation.js";
import { Admin } from "./pages/admin.js";

const ROUTES = [
  ["/", Overview],
  ["/experiments", Experiments],
  ["/runs", RunsPage],
  ["/runs/:id", RunDetail],
  ["/compare", CompareRuns],
  ["/datasets", Datasets],
  ["/datasets/:name", DatasetDetail],
  ["/datasets/:name/:version", DatasetDetail],
  ["/models", Models],
  ["/models/:name", ModelDetail],
  ["/models/:name/versions/:version", ModelDetail],
  ["/endpoints", Endpoints],
  ["/endpoints/:name", EndpointDetail],
  ["/monitoring", Monitors],
  ["/monitoring/:endpoint/:name", MonitorDetail],
  ["/alerts", Alerts],
  ["/automations", Automations],
  ["/automations/:name", AutomationDetail],
  ["/pipelines", Pipelines],
  ["/pipelines/runs/:id", PipelineRunDetail],
  ["/jobs", Jobs],
  ["/admin", Admin],
];

function match(path) {
  const parts = path.replace(/\/+$/, "").split("/").filter(Boolean);
  for (const [pattern, Page] of ROUTES) {
    const want = pattern.split("/").filter(Boolean);
    if (want.length !== parts.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < want.length; i++) {
      if (want[i].startsWith(":")) params[want[i].slice(1)] = decodeURIComponent(parts[i]);
      else if (want[i] !== parts[i]) { ok = false; break; }
    }
    if (ok) return [Page, params];
  }
  return [null, {}];
}

const NAV = [
  ["/", "Overview"],
  ["/runs", "Runs"],
  ["/datasets", "Datasets"],
  ["/models", "Models"],
  ["/endpoints", "Endpoints"],
  ["/monitoring", "Monitoring"],
  ["/alerts", "Alerts"],
  ["/automations", "Automations"],
  ["/pipelines", "Pipelines"],
  ["/jobs", "Jobs"],
  ["/admin", "Admin"],
];

function Login({ onLogin, problem }) {
  const [value, setValue] = useState("");
  const [error, setError] = useState(problem || null);
  const [busy, setBusy] = useState(false);
  useEffect(() => { document.title = "Log in · Mainsail"; }, []);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    token.set(value.trim());
    try {
      onLogin(await api.whoami());
    } catch (err) {
      token.clear();
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="login">
    <form class="card" onSubmit=${submit} data-testid="login-form">
      <h1>Mainsail</h1>
      <p>This server needs a token. An admin creates one with <code>mainsail tokens create USER</code>.</p>
      <label>Token <input type="password" name="token" autocomplete="off" value=${value} onInput=${(e) => setValue(e.target.value)} placeholder="ms_…" required /></label>
      <button type="submit" disabled=${busy || !value.trim()}>Log in</button>
      <${ErrorBox} error=${error} />
    </form>
  </main>`;
}

function Shell({ me, onLogout }) {
  const { path } = useLocation();
  const [Page, params] = match(path);
  const section = "/" + (path.split("/")[1] || "");
  return html`<${Me.Provider} value=${me}>
    <div class="shell">
      <nav class="side">
        <${Link} href="/" class="brand">Mainsail<//>
        ${NAV.filter(([href]) => href !== "/admin" || (me.roles || {})["*"] === "admin").map(([href, label]) => html`<${Link} href=${href} class=${(href === "/" ? path === "/" : section === href) ? "active" : ""}>${label}<//>`)}
        <div class="who" data-testid="whoami">
          <span>${me.name}</span>
          <small>${Object.entries(me.roles || {}).map(([p, r]) => `${r} on ${p}`).join(", ")}</small>
          ${me.auth ? html`<button class="link" data-testid="logout" onClick=${onLogout}>Log out</button>` : html`<small>no login (local)</small>`}
        </div>
      </nav>
      <main class="content">${Page ? html`<${Page} ...${params} key=${path} />` : html`<${NotFound} />`}</main>
    </div>
  <//>`;
}

const AUTH = (() => {
  const meta = document.querySelector('meta[name="mainsail-auth"]');
  return !meta || meta.content !== "off";
})();

// Draw the page at once while asking who is calling: its data loads in parallel. Until the
// answer, the caller has no role, so no mutating control shows.
function initialState() {
  if (AUTH && !token.get()) return { me: null, error: null, checked: true };
  return { me: { name: "…", roles: {}, auth: AUTH }, error: null, checked: true, pending: true };
}

function App() {
  const [state, setState] = useState(initialState);
  const check = async () => {
    if (AUTH && !token.get()) {
      setState({ me: null, error: null, checked: true });
      return;
    }
    try {
      setState({ me: await api.whoami(), error: null, checked: true });
    } catch (error) {
      setState({ me: null, error: error.status === 401 ? null : error, checked: true, problem: token.get() ? error : null });
    }
  };
  useEffect(() => {
    check();
    const on = () => setState((s) => ({ ...s, me: null }));
    window.addEventListener("mainsail:unauthenticated", on);
    return () => window.removeEventListener("mainsail:unauthenticated", on);
  }, []);
  if (!state.checked) return html`<${Loading} />`;
  if (state.error) return html`<main class="login"><${ErrorBox} error=${state.error} title="The server cannot be reached" /></main>`;
  if (!state.me) {
    return html`<${Login} problem=${state.problem} onLogin=${(me) => {
      setState({ me, error: null, checked: true });
      if (location.pathname === "/login") navigate("/", { replace: true });
    }} />`;
  }
  const logout = () => {
    token.clear();
    setState({ me: null, error: null, checked: true });
    navigate("/login");
  };
  return html`<${Shell} me=${state.me} onLogout=${logout} />`;
}

render(html`<${App} />`, document.getElementById("app"));
