// The diff page ("/diff?a=&b=") and the compare page ("/compare?a=&b="): the query API's own
// HTML pages in a frame, under a header that says what is compared.
import * as api from "./api.js";
import { h, when } from "./dom.js";
import { describe } from "./filters.js";
import { notFound } from "./missing.js";
import { backLink, frame } from "./pagehead.js";

export function renderDiff(main) {
  document.title = "Diff · otel-bridge";
  const query = new URLSearchParams(location.search);
  const [a, b] = [query.get("a") || "", query.get("b") || ""];
  if (!a || !b) {
    notFound(main, "A diff needs two runs: /diff?a=TRACE_ID&b=TRACE_ID.",
      "Tick two runs on the runs page and press “Diff selected runs”.");
    return null;
  }
  let left = false;
  const runLink = (label, id, summary) => h("span", { class: "side" }, h("b", {}, label),
    h("a", { class: "clip", href: `/runs/${encodeURIComponent(id)}`, title: `trace ${id}` },
      summary && summary.root_name ? summary.root_name : id),
    summary ? h("span", { class: "muted clip" },
      [summary.task_id, when(summary.start)].filter(Boolean).join(" · ")) : null);
  const head = h("div", { class: "page-head" },
    h("div", { class: "title-line" }, backLink(), h("h1", {}, "Diff of two runs")));
  main.replaceChildren(h("section", { class: "page frame-page" }, head));
  // The runs are read first: an unknown id is a page that says so, not a frame with an error.
  Promise.allSettled([api.trace(a), api.trace(b)]).then(([ra, rb]) => {
    if (left) return;
    const gone = [[a, ra], [b, rb]].filter(([, r]) => r.status === "rejected" && r.reason.status !== 0);
    if (gone.length) {
      const why = gone[0][1].reason;
      notFound(main, `No run has the trace id ${gone.map(([id]) => id).join(" nor ")}.`,
        why.status === 400 ? why.message : "");
      return;
    }
    const [sa, sb] = [ra.value, rb.value];
    document.title = `Diff ${(sa && sa.root_name) || a} / ${(sb && sb.root_name) || b} · otel-bridge`;
    head.append(h("p", { class: "sides" }, runLink("A", a, sa), runLink("B", b, sb)));
    head.parentNode.append(frame(`/api/diff?${new URLSearchParams({ a, b, format: "html" })}`,
      "The diff of run A and run B"));
  });
  return () => { left = true; };
}

export function renderCompare(main) {
  document.title = "Compare · otel-bridge";
  const query = new URLSearchParams(location.search);
  if (!query.has("a") || !query.has("b")) {
    notFound(main, "A compare needs two filter sets: /compare?a=FILTERS&b=FILTERS.",
      "On the runs page, set filters, press “Use these filters as A”, change them, then " +
      "“Compare A with these filters”.");
    return null;
  }
  const [a, b] = [query.get("a"), query.get("b")];
  const side = (label, filters) => h("span", { class: "side" }, h("b", {}, label),
    h("a", { class: "clip", href: `/?${filters}`, title: `The runs of ${describe(filters)}` },
      describe(filters)));
  main.replaceChildren(h("section", { class: "page frame-page" },
    h("div", { class: "page-head" },
      h("div", { class: "title-line" }, backLink(), h("h1", {}, "Compare two sets of runs")),
      h("p", { class: "sides" }, side("A", a), side("B", b))),
    frame(`/api/compare?${new URLSearchParams({ a, b, format: "html" })}`,
      "The compare of the runs of A and of B")));
  return null;
}
