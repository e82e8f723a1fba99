// The run table's request from the page's URL: shared by the page and the prefetch script,
// so both ask for exactly the same thing.
export const AUTO_COLUMNS = 8;
export const PAGE_SIZES = [50, 100, 200];

export function runsState(qs) {
  return {
    experiments: qs.getAll("experiment"),
    filter: qs.get("filter") || "",
    order: qs.get("order") || "",
    size: Number(qs.get("size")) || PAGE_SIZES[0],
    page: Math.max(0, Number(qs.get("page")) || 0),
    chosen: qs.getAll("col"),
  };
}

// ``cols`` are "param:<key>"/"metric:<key>"; with none, the server picks AUTO_COLUMNS.
export function runTableParams(st, keysKnown, cols) {
  return {
    experiment: st.experiments,
    filter: st.filter,
    order_by: st.order || undefined,
    offset: st.page * st.size,
    limit: st.size,
    param: cols.filter((c) => c.startsWith("param:")).map((c) => c.slice(6)),
    metric: cols.filter((c) => c.startsWith("metric:")).map((c) => c.slice(7)),
    keys: keysKnown ? undefined : true,
    auto_columns: cols.length ? undefined : AUTO_COLUMNS,
  };
}
