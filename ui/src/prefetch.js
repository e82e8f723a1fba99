// Inlined into index.html: start the first requests while the app downloads.
import { prefetch, seg, token } from "./api.js";
import { runTableParams, runsState } from "./pages/runsQuery.js";

const meta = document.querySelector('meta[name="mainsail-auth"]');
if ((meta && meta.content === "off") || token.get()) {
  prefetch("/whoami");
  const path = location.pathname.replace(/\/+$/, "");
  const run = path.match(/^\/runs\/([^/]+)$/);
  if (path === "/runs") {
    const st = runsState(new URLSearchParams(location.search));
    prefetch("/run-table", runTableParams(st, false, st.chosen));
  } else if (run) {
    prefetch(`/runs/${seg(decodeURIComponent(run[1]))}`);
  }
}
