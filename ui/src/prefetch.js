// Inlined into index.html: start the first requests while the app downloads.
import { prefetch, token } from "./api.js";
import { runTableParams, runsState } from "./pages/runsQuery.js";

const meta = document.querySelector('meta[name="mainsail-auth"]');
if ((meta && meta.content === "off") || token.get()) {
  prefetch("/whoami");
  if (location.pathname.replace(/\/+$/, "") === "/runs") {
    const st = runsState(new URLSearchParams(location.search));
    prefetch("/run-table", runTableParams(st, false, st.chosen));
  }
}
