// The one module that knows the server's routes. Every page calls these functions; when a
// route changes shape, this is the file to adapt.

const PREFIX = "/api/v1";
const TOKEN_KEY = "mainsail.token";

export class ApiError extends Error {
  constructor(status, body, path) {
    const message = (body && (body.error || body.detail)) || `HTTP ${status} on ${path}`;
    super(typeof message === "string" ? message : JSON.stringify(message));
    this.status = status;
    this.type = body && body.type;
    this.headline = (body && body.headline) || (status === 404 ? "Not found" : "Error");
    this.path = path;
  }
}

export const token = {
  get: () => localStorage.getItem(TOKEN_KEY),
  set: (t) => localStorage.setItem(TOKEN_KEY, t),
  clear: () => localStorage.removeItem(TOKEN_KEY),
};

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === "") continue;
    for (const item of Array.isArray(v) ? v : [v]) q.append(k, String(item));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export const seg = (s) => encodeURIComponent(String(s));

function authHeaders(extra) {
  const headers = { Accept: "application/json", ...extra };
  const t = token.get();
  if (t) headers.Authorization = `Bearer ${t}`;
  return headers;
}

const read = (r) => r.text().then((text) => ({ status: r.status, ok: r.ok, text }));

// GETs started by the page's inline script while the app itself downloads (prefetch.js);
// the app's first identical GET takes the answer instead of asking again.
const PREFETCHED = (window.__mainsailPrefetch = window.__mainsailPrefetch || {});

export function prefetch(path, params) {
  const url = PREFIX + path + query(params);
  PREFETCHED[url] = fetch(url, { headers: authHeaders() }).then(read);
}

export async function call(method, path, { params, body, signal } = {}) {
  const url = PREFIX + path + query(params);
  let res;
  try {
    if (method === "GET" && PREFETCHED[url]) {
      res = await PREFETCHED[url];
      delete PREFETCHED[url];
    } else {
      const headers = authHeaders(body !== undefined ? { "Content-Type": "application/json" } : {});
      res = await fetch(url, { method, headers, body: body !== undefined ? JSON.stringify(body) : undefined, signal }).then(read);
    }
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, { error: `The server did not answer (${e.message}). Is it running?`, headline: "No connection" }, path);
  }
  if (res.status === 204) return null;
  let data = null;
  try {
    data = res.text ? JSON.parse(res.text) : null;
  } catch {
    data = { error: res.text.slice(0, 500) || `HTTP ${res.status}` };
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data, path);
    if (res.status === 401) window.dispatchEvent(new CustomEvent("mainsail:unauthenticated", { detail: err }));
    throw err;
  }
  return data;
}

const get = (path, params, opts) => call("GET", path, { params, ...opts });
const post = (path, body) => call("POST", path, { body });

export const api = {
  whoami: () => get("/whoami"),
  // tracking
  experiments: () => get("/experiments"),
  runTable: (p, opts) => get("/run-table", p, opts),
  run: (id) => get(`/runs/${seg(id)}`),
  environment: (digest) => get(`/environments/${seg(digest)}`),
  metricSeries: (id, key, p, opts) => get(`/runs/${seg(id)}/metric-series`, { key, ...p }, opts),
  artifactUrl: (digest) => `${PREFIX}/artifacts/${seg(digest)}`,
  // The first ``maxBytes`` of a blob (previews never pull a whole large file).
  artifact: async (digest, { via, maxBytes = 512 * 1024 } = {}) => {
    const headers = {};
    const t = token.get();
    if (t) headers.Authorization = `Bearer ${t}`;
    const path = `/artifacts/${seg(digest)}`;
    const res = await fetch(PREFIX + path + query({ via }), { headers });
    if (!res.ok) {
      let body = null;
      try { body = await res.json(); } catch { /* not JSON */ }
      throw new ApiError(res.status, body, path);
    }
    const reader = res.body.getReader();
    const parts = [];
    let size = 0;
    let truncated = false;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      size += value.length;
      if (size >= maxBytes) { truncated = true; await reader.cancel(); break; }
    }
    return { blob: new Blob(parts), truncated };
  },
  // datasets
  datasets: () => get("/datasets"),
  datasetVersions: (name) => get(`/datasets/${seg(name)}/versions`),
  datasetVersion: (name, v) => get(`/datasets/${seg(name)}/versions/${seg(v)}`),
  // registry and checks
  models: () => get("/models"),
  modelVersions: (name) => get(`/models/${seg(name)}/versions`),
  modelVersion: (name, v) => get(`/models/${seg(name)}/versions/${seg(v)}`),
  aliasHistory: (name) => get(`/models/${seg(name)}/alias-history`),
  modelChecks: (name) => get(`/models/${seg(name)}/checks`),
  versionChecks: (name, v) => get(`/models/${seg(name)}/versions/${seg(v)}/checks`),
  // endpoints and rollouts
  endpoints: () => get("/endpoints"),
  endpoint: (name) => get(`/endpoints/${seg(name)}`),
  rollouts: (name) => get(`/endpoints/${seg(name)}/rollouts`),
  allRollouts: (p) => get("/rollouts", p),
  steerRollout: (name, action) => post(`/endpoints/${seg(name)}/rollout/${seg(action)}`),
  abReport: (name) => get(`/endpoints/${seg(name)}/ab-report`),
  shadowReport: (name) => get(`/endpoints/${seg(name)}/shadow-report`),
  // monitoring
  monitors: (p) => get("/monitors", p),
  monitor: (ep, name) => get(`/monitors/${seg(ep)}/${seg(name)}`),
  monitorResults: (ep, name, p) => get(`/monitors/${seg(ep)}/${seg(name)}/results`, p),
  monitorReport: (ep, name, p) => get(`/monitors/${seg(ep)}/${seg(name)}/report`, p),
  runMonitor: (ep, name) => post(`/monitors/${seg(ep)}/${seg(name)}/run`),
  alerts: (p) => get("/alerts", p),
  resolveAlert: (id) => post(`/alerts/${seg(id)}/resolve`),
  // automations, pipelines, jobs
  automations: () => get("/automations"),
  automation: (name) => get(`/automations/${seg(name)}`),
  automationEvents: (name) => get(`/automations/${seg(name)}/events`),
  runAutomation: (name) => post(`/automations/${seg(name)}/run`),
  pipelineRuns: (p) => get("/pipeline-runs", p),
  pipelineRun: (id) => get(`/pipeline-runs/${seg(id)}`),
  jobs: (p) => get("/jobs", p),
  job: (id) => get(`/jobs/${seg(id)}`),
  // security
  users: () => get("/users"),
  tokens: (p) => get("/tokens", p),
  createToken: (body) => post("/tokens", body),
  revokeToken: (id) => call("DELETE", `/tokens/${seg(id)}`),
  audit: (p) => get("/audit", p),
};
