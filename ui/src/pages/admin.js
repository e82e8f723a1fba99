// Admin: users, tokens (a new token is shown once), the audit log with filters.
import { useState } from "preact/hooks";
import { api } from "../api.js";
import { Await, Badge, ErrorBox, Json, PageHead, Section, Table, fmtTime, html, useApi, useMay, useQueryState } from "../lib.js";

export function Admin() {
  const [qs, setQs] = useQueryState();
  const tab = qs.get("tab") || "users";
  const admin = useMay("admin", "*");
  if (!admin) return html`<${PageHead} title="Admin" /><p data-testid="not-admin">This page needs the admin role on every project (<code>*</code>).</p>`;
  return html`<${PageHead} title="Admin" />
    <nav class="tabs">${["users", "tokens", "audit"].map((t) => html`<button class=${t === tab ? "active" : ""} aria-selected=${t === tab} onClick=${() => setQs({ tab: t })}>${t}</button>`)}</nav>
    ${tab === "users" ? html`<${Users} />` : tab === "tokens" ? html`<${Tokens} />` : html`<${Audit} />`}`;
}

function Users() {
  const q = useApi(() => api.users(), []);
  return html`<${Await} q=${q} what="users">${(rows) => html`<${Table} testid="users" rows=${rows} columns=${[
    { label: "User", render: (u) => u.name }, { label: "Kind", render: (u) => u.kind },
    { label: "Roles", render: (u) => Object.entries(u.roles || {}).map(([p, r]) => html`<span class="chip">${r} on ${p}</span>`) },
    { label: "State", render: (u) => html`<${Badge} value=${u.disabled ? "disabled" : "active"} kind=${u.disabled ? "bad" : "ok"} />` },
    { label: "Created", render: (u) => `${fmtTime(u.created_at)} by ${u.created_by || "—"}` },
  ]} />`}<//>`;
}

function Tokens() {
  const q = useApi(() => Promise.all([api.tokens(), api.users()]), []);
  const [form, setForm] = useState({ user: "", name: "", scope: "api", days: "" });
  const [issued, setIssued] = useState(null);
  const [error, setError] = useState(null);
  const create = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      const out = await api.createToken({ user: form.user, name: form.name || null, scopes: [form.scope], expires_in_days: form.days ? Number(form.days) : null });
      setIssued(out);
      q.reload();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (id) => {
    if (!window.confirm(`Revoke token ${id}?`)) return;
    try { await api.revokeToken(id); q.reload(); } catch (err) { setError(err); }
  };
  return html`<${Await} q=${q} what="tokens">${([tokens, users]) => html`
    <${Section} title="Create a token">
      <form class="inline-form" onSubmit=${create} data-testid="token-form">
        <select required aria-label="user" onChange=${(e) => setForm({ ...form, user: e.target.value })}><option value="">user…</option>${users.map((u) => html`<option selected=${u.name === form.user}>${u.name}</option>`)}</select>
        <input placeholder="name (optional)" value=${form.name} onInput=${(e) => setForm({ ...form, name: e.target.value })} />
        <select aria-label="scope" onChange=${(e) => setForm({ ...form, scope: e.target.value })}>${["api", "read", "predict"].map((s) => html`<option selected=${s === form.scope}>${s}</option>`)}</select>
        <input type="number" min="1" placeholder="expires in days" value=${form.days} onInput=${(e) => setForm({ ...form, days: e.target.value })} />
        <button type="submit">Create</button>
      </form>
      <${ErrorBox} error=${error} />
      ${issued ? html`<div class="issued" data-testid="issued-token"><p><strong>Copy this token now: it is shown once.</strong></p><code class="token">${issued.token}</code>
        <button onClick=${() => navigator.clipboard && navigator.clipboard.writeText(issued.token)}>Copy</button> <button class="link" onClick=${() => setIssued(null)}>Done</button></div>` : null}
    <//>
    <${Table} testid="tokens" rows=${tokens} columns=${[
      { label: "#", key: "id", num: true }, { label: "User", render: (t) => t.user }, { label: "Name", render: (t) => t.name || "—" },
      { label: "Prefix", render: (t) => html`<code>${t.prefix}…</code>` }, { label: "Scopes", render: (t) => t.scopes.join(", ") },
      { label: "Created", render: (t) => fmtTime(t.created_at) }, { label: "Expires", render: (t) => fmtTime(t.expires_at) },
      { label: "Last used", render: (t) => fmtTime(t.last_used_at) },
      { label: "", render: (t) => (t.revoked_at ? html`<${Badge} value="revoked" kind="bad" />` : html`<button class="danger" onClick=${() => revoke(t.id)}>Revoke</button>`) },
    ]} />`}<//>`;
}

function Audit() {
  const [qs, setQs] = useQueryState();
  const filters = { actor: qs.get("actor") || "", action: qs.get("action") || "", target: qs.get("target") || "" };
  const [draft, setDraft] = useState(filters);
  const q = useApi(() => api.audit({ ...filters, limit: 500 }), [filters.actor, filters.action, filters.target]);
  const [open, setOpen] = useState(null);
  return html`<form class="inline-form" data-testid="audit-filters" onSubmit=${(e) => { e.preventDefault(); setQs(draft); }}>
      ${["actor", "action", "target"].map((k) => html`<input name=${k} placeholder=${k} value=${draft[k]} onInput=${(e) => setDraft({ ...draft, [k]: e.target.value })} />`)}
      <button type="submit">Filter</button>
    </form>
    <${Await} q=${q} what="audit log">${(rows) => html`<${Table} testid="audit" rows=${rows} empty="No event matches." columns=${[
      { label: "When", render: (e) => fmtTime(e.ts) }, { label: "Actor", render: (e) => e.actor }, { label: "Action", render: (e) => e.action },
      { label: "Target", render: (e) => e.target }, { label: "Status", render: (e) => (e.status == null ? "—" : html`<${Badge} value=${e.status} kind=${e.status < 400 ? "ok" : "bad"} />`) },
      { label: "Client", render: (e) => e.client || "—" },
      { label: "", render: (e) => html`<button class="link" onClick=${() => setOpen(open === e.id ? null : e.id)}>${open === e.id ? "hide" : "details"}</button>${open === e.id ? html`<${Json} value=${{ before: e.before, after: e.after, request_id: e.request_id }} />` : null}` },
    ]} />`}<//>`;
}
