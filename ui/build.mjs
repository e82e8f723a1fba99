// Bundle the UI into ../src/mainsail/ui/static: hashed assets, index.html, build.json.
// build.json records a hash of the sources, so a test can tell when the committed assets
// are older than the sources (tests/ui/test_assets.py computes the same hash).
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

const here = new URL(".", import.meta.url).pathname;
const out = join(here, "..", "src", "mainsail", "ui", "static");

export function sourceFiles() {
  const files = ["build.mjs", "index.html", "package.json", "package-lock.json"];
  const walk = (dir) => {
    for (const name of readdirSync(join(here, dir)).sort()) {
      const rel = join(dir, name);
      if (statSync(join(here, rel)).isDirectory()) walk(rel);
      else files.push(rel);
    }
  };
  walk("src");
  return files.sort();
}

function sourcesHash() {
  const h = createHash("sha256");
  for (const f of sourceFiles()) {
    h.update(f + "\0");
    h.update(readFileSync(join(here, f)).toString("utf8").replace(/\r\n/g, "\n"));
    h.update("\0");
  }
  return h.digest("hex");
}

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });
const result = await build({
  entryPoints: { app: join(here, "src", "main.js") },
  bundle: true,
  splitting: true,
  format: "esm",
  minify: true,
  sourcemap: false,
  target: ["chrome110", "firefox110", "safari16"],
  outdir: join(out, "assets"),
  entryNames: "[name]-[hash]",
  chunkNames: "chunk-[hash]",
  assetNames: "[name]-[hash]",
  metafile: true,
  legalComments: "linked",
  loader: { ".css": "css" },
  logLevel: "warning",
});
// The prefetch script runs inline, before the app arrives (see src/prefetch.js).
const inline = await build({
  entryPoints: [join(here, "src", "prefetch.js")],
  bundle: true,
  format: "iife",
  minify: true,
  write: false,
  target: ["chrome110", "firefox110", "safari16"],
  logLevel: "warning",
});
const prefetchJs = inline.outputFiles[0].text.trim();
if (prefetchJs.includes("</script")) throw new Error("the inline script must not close its tag");
const outputs = Object.entries(result.metafile.outputs);
const entry = outputs.find(([, o]) => o.entryPoint && o.entryPoint.endsWith("main.js"));
const css = outputs.find(([p, o]) => p.endsWith(".css") && o.entryPoint === undefined && p.includes("app-"));
const name = (p) => relative(join(out, "assets"), join(process.cwd(), p));
let html = readFileSync(join(here, "index.html"), "utf8");
html = html.replace("%APP_JS%", `/ui-assets/${name(entry[0])}`);
html = html.replace("%APP_CSS%", css ? `/ui-assets/${name(css[0])}` : "");
// The entry's static imports load in parallel with it, not after it is parsed.
const preload = entry[1].imports.filter((i) => i.kind === "import-statement")
  .map((i) => `<link rel="modulepreload" href="/ui-assets/${name(i.path)}">`).join("\n");
html = html.replace("%PRELOAD%", preload);
html = html.replace("%PREFETCH%", () => prefetchJs);
writeFileSync(join(out, "index.html"), html);
writeFileSync(
  join(out, "build.json"),
  JSON.stringify({ sources_sha256: sourcesHash(), files: sourceFiles() }, null, 2) + "\n",
);
const sizes = outputs.map(([p, o]) => `${name(p)} ${(o.bytes / 1024).toFixed(0)} KiB`);
console.log("built " + out + "\n  " + sizes.join("\n  "));
