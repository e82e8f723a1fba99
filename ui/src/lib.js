// Shared pieces: the html tag, the router, data hooks, formatting and small components.
import { h, createContext } from "preact";
import { useCallback, useContext, useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import htm from "htm";
import { ApiError } from "./api.js";

export const html = htm.bind(h);

// -- routing: the URL is the state, so every page can be pasted into a chat ---------------
export function navigate(to, { replace = false } = {}) {
  if (to === location.pathname + location.search) return;
  history[replace ? "replaceState" : "pushState"](null, "", to);
  window.dispatchEvent(new Event("mainsail:navigate"));
}

export function useLocation() {
  const [loc, setLoc] = useState(() => ({ path: location.pathname, search: location.search }));
  useEffect(() => {
    const on = () => setLoc({ path: location.pathname, search: location.search });
    window.addEventListener("popstate", on);
    window.addEventListener("mainsail:navigate", on);
    return () => {
      window.removeEventListener("popstate", on);
      window.removeEventListener("mainsail:navigate", on);
    };
  }, []);
  return loc;
}

export function useQueryState() {
  const { search } = useLocation();
  const params = new URLSearchParams(search);
  const set = useCallback((changes, opts = { replace: true }) => {
    const next = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(changes)) {
      next.delete(k);
      if (v === undefined || v === null || v === "") continue;
      for (const item of Array.isArray(v) ? v : [v]) next.append(k, String(item));
    }
    const s = next.toString();
    navigate(location.pathname + (s ? `?${s}` : ""), opts);
  }, []);
  return [params, set];
}

export function Link({ href, children, ...rest }) {
  const onClick = (e) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return html`<a href=${href} onClick=${onClick} ...${rest}>${children}</a>`;
}

// -- who is calling: pages hide what the caller's role may not do ---------------------------
export const Me = createContext({ name: "", roles: {}, auth: false });
const RANK = { viewer: 1, developer: 2, deployer: 3, admin: 4 };

function globMatch(pattern, value) {
  const re = new RegExp("^" + pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$");
  return re.test(value);
}

export function may(me, role, project) {
  let best = 0;
  for (const [pattern, r] of Object.entries(me.roles || {})) {
    if (project == null || pattern === "*" || globMatch(pattern, project)) best = Math.max(best, RANK[r] || 0);
  }
  return best >= RANK[role];
}

export function useMay(role, project) {
  return may(useContext(Me), role, project);
}

// -- data: load, reload on a timer, errors as values ----------------------------------------
export function useApi(fn, deps, { poll = 0 } = {}) {
  const [state, setState] = useState({ data: undefined, error: null, loading: true });
  const seq = useRef(0);
  const load = useCallback(async (quiet) => {
    const n = ++seq.current;
    if (!quiet) setState((s) => ({ ...s, loading: true }));
    try {
      const data = await fn();
      if (n === seq.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (error.name === "AbortError") return;
      if (n === seq.current) setState((s) => ({ data: quiet ? s.data : undefined, error, loading: false }));
    }
  }, deps);
  // A layout effect starts the request right after the first render, not a frame later.
  useLayoutEffect(() => {
    load(false);
    if (!poll) return undefined;
    const id = setInterval(() => { if (!document.hidden) load(true); }, poll);
    return () => clearInterval(id);
  }, [load, poll]);
  return { ...state, reload: () => load(true) };
}

// -- formatting ----------------------------------------------------------------------------
export function fmtTime(ms) {
  if (ms == null) return "—";
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtDuration(ms) {
  if (ms == null) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function fmtNum(v) {
  if (v == null || v === "") return "—";
  if (typeof v !== "number") return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
  return String(Number(v.toPrecision(5)));
}

export const short = (s, n = 8) => (s ? String(s).slice(0, n) : "—");

export function fmtBytes(n) {
  if (n == null) return "—";
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

// -- components ----------------------------------------------------------------------------
export function Badge({ value, kind }) {
  const v = String(value ?? "—");
  const k = kind || STATUS_KIND[v.toLowerCase()] || "neutral";
  return html`<span class=${`badge badge-${k}`}>${v}</span>`;
}

const STATUS_KIND = {
  finished: "ok", succeeded: "ok", done: "ok", pass: "ok", promoted: "ok", blessed: "ok", resolved: "ok", ok: "ok", healthy: "ok", advance: "ok", cached: "info",
  running: "info", progressing: "info", queued: "info", pending: "warn", paused: "warn", warning: "warn", warn: "warn", skipped: "neutral", no_data: "neutral",
  failed: "bad", fail: "bad", killed: "bad", aborted: "bad", rolled_back: "bad", firing: "bad", critical: "bad", rejected: "bad", error: "bad", rollback: "bad",
};

export function Loading() {
  return html`<p class="loading" aria-busy="true">Loading…</p>`;
}

export function ErrorBox({ error, title }) {
  if (!error) return null;
  const status = error instanceof ApiError ? error.status : 0;
  return html`<div class="error-box" role="alert" data-status=${status}>
    <strong>${title || (error instanceof ApiError ? error.headline : "Error")}${status ? ` (${status})` : ""}</strong>
    <pre>${error.message}</pre>
  </div>`;
}

export function NotFound({ what, error }) {
  return html`<section class="not-found" data-testid="not-found">
    <h1>404 — ${what || "page"} not found</h1>
    <p>${error ? error.message : "Nothing lives at this address."}</p>
    <p><${Link} href="/">Back to the overview<//></p>
  </section>`;
}

// Render a loaded value, a 404 page, an error, or "Loading…".
export function Await({ q, what, children }) {
  if (q.error) {
    if (q.error.status === 404) return html`<${NotFound} what=${what} error=${q.error} />`;
    return html`<${ErrorBox} error=${q.error} />`;
  }
  if (q.data === undefined) return html`<${Loading} />`;
  return children(q.data);
}

export function KV({ data, empty = "none" }) {
  const entries = Object.entries(data || {});
  if (!entries.length) return html`<p class="muted">${empty}</p>`;
  return html`<table class="kv"><tbody>${entries.map(([k, v]) => html`<tr><th>${k}</th><td>${typeof v === "object" && v !== null ? html`<code>${JSON.stringify(v)}</code>` : fmtNum(v)}</td></tr>`)}</tbody></table>`;
}

export function Tabs({ tabs, current, onChange }) {
  return html`<nav class="tabs" role="tablist">${tabs.map((t) => html`<button role="tab" aria-selected=${t === current} class=${t === current ? "active" : ""} onClick=${() => onChange(t)}>${t}</button>`)}</nav>`;
}

export function Table({ columns, rows, empty = "Nothing yet.", rowKey, testid }) {
  if (!rows || !rows.length) return html`<p class="muted">${empty}</p>`;
  return html`<div class="table-wrap"><table class="grid" data-testid=${testid}>
    <thead><tr>${columns.map((c) => html`<th class=${c.num ? "num" : ""}>${c.label}</th>`)}</tr></thead>
    <tbody>${rows.map((r, i) => html`<tr key=${rowKey ? rowKey(r) : i}>${columns.map((c) => html`<td class=${c.num ? "num" : ""}>${c.render ? c.render(r) : fmtNum(r[c.key])}</td>`)}</tr>`)}</tbody>
  </table></div>`;
}

export function Section({ title, children, actions }) {
  return html`<section class="card"><header class="card-head"><h2>${title}</h2>${actions}</header>${children}</section>`;
}

export function PageHead({ title, sub, children }) {
  useEffect(() => { document.title = `${title} · Mainsail`; }, [title]);
  return html`<header class="page-head"><div><h1>${title}</h1>${sub ? html`<p class="sub">${sub}</p>` : null}</div><div class="actions">${children}</div></header>`;
}

export function Json({ value }) {
  return html`<pre class="json">${JSON.stringify(value, null, 2)}</pre>`;
}
