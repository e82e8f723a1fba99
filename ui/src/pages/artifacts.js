// Previews of artifacts: images, text, CSV tables, and the files of a folder artifact.
import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { ErrorBox, Loading, Table, fmtBytes, html, short } from "../lib.js";

const IMAGE = /\.(png|jpe?g|gif|webp|svg)$/i;
const TABLE = /\.(csv|tsv)$/i;
const TEXT = /\.(txt|log|md|json|ya?ml|py|toml|ini|cfg|html?|xml|sh|js|ts|sql|r)$/i;

export function ArtifactPreview({ artifact, via }) {
  if (artifact.kind === "dir") return html`<${FolderPreview} artifact=${artifact} />`;
  return html`<${FilePreview} path=${artifact.path} digest=${artifact.digest} via=${via} />`;
}

function FolderPreview({ artifact }) {
  const [state, setState] = useState({ files: null, error: null });
  const [open, setOpen] = useState(null);
  useEffect(() => {
    api.artifact(artifact.digest, { maxBytes: 4 * 1024 * 1024 })
      .then(({ blob }) => blob.text())
      .then((t) => setState({ files: JSON.parse(t).files || {}, error: null }))
      .catch((error) => setState({ files: null, error }));
  }, [artifact.digest]);
  if (state.error) return html`<${ErrorBox} error=${state.error} />`;
  if (!state.files) return html`<${Loading} />`;
  const rows = Object.entries(state.files).map(([path, e]) => ({ path, ...e }));
  return html`<div class="preview"><h3>${artifact.path}/</h3>
    <${Table} rows=${rows} columns=${[
      { label: "File", render: (f) => html`<button class="link" onClick=${() => setOpen(f)}>${f.path}</button>` },
      { label: "Size", render: (f) => fmtBytes(f.size), num: true },
    ]} />
    ${open ? html`<${FilePreview} key=${open.path} path=${open.path} digest=${open.digest} via=${artifact.digest} />` : null}</div>`;
}

function FilePreview({ path, digest, via }) {
  const [state, setState] = useState({ loading: true });
  useEffect(() => {
    let url = null;
    const kind = IMAGE.test(path) ? "image" : TABLE.test(path) ? "table" : TEXT.test(path) ? "text" : "binary";
    if (kind === "binary") { setState({ kind }); return undefined; }
    api.artifact(digest, { via, maxBytes: kind === "image" ? 8 * 1024 * 1024 : 256 * 1024 }).then(async ({ blob, truncated }) => {
      if (kind === "image") {
        url = URL.createObjectURL(path.toLowerCase().endsWith(".svg") ? new Blob([blob], { type: "image/svg+xml" }) : blob);
        setState({ kind, url, truncated });
      } else {
        setState({ kind, text: await blob.text(), truncated });
      }
    }).catch((error) => setState({ error }));
    return () => url && URL.revokeObjectURL(url);
  }, [digest, via]);
  if (state.error) return html`<${ErrorBox} error=${state.error} />`;
  if (state.loading) return html`<${Loading} />`;
  const title = html`<h3>${path} <small class="muted">sha256:${short(digest, 12)}${state.truncated ? " · first part only" : ""}</small></h3>`;
  if (state.kind === "image") return html`<div class="preview" data-testid="preview-image">${title}<img src=${state.url} alt=${path} /></div>`;
  if (state.kind === "table") return html`<div class="preview" data-testid="preview-table">${title}<${CsvTable} text=${state.text} sep=${path.toLowerCase().endsWith(".tsv") ? "\t" : ","} /></div>`;
  if (state.kind === "text") return html`<div class="preview" data-testid="preview-text">${title}<pre class="text">${state.text}</pre></div>`;
  return html`<div class="preview">${title}<p class="muted">No preview for this kind of file.</p></div>`;
}

// A small CSV reader: quoted fields, doubled quotes; the first 200 rows.
export function parseCsv(text, sep = ",") {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length && rows.length <= 200; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === sep) { row.push(field); field = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field); rows.push(row); row = []; field = "";
    } else field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}

function CsvTable({ text, sep }) {
  const [head, ...rows] = parseCsv(text, sep);
  if (!head) return html`<p class="muted">Empty file.</p>`;
  return html`<div class="table-wrap"><table class="grid"><thead><tr>${head.map((h) => html`<th>${h}</th>`)}</tr></thead>
    <tbody>${rows.slice(0, 200).map((r) => html`<tr>${r.map((c) => html`<td>${c}</td>`)}</tr>`)}</tbody></table></div>`;
}
