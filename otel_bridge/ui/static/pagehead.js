// Pieces every page's header has: the way back, facts as label and value.
import { h } from "./dom.js";
import { canGoBack } from "./nav.js";

/** "← Back" to the previous page of the UI when there is one, else "← All runs" (to "/"). */
export function backLink() {
  const back = canGoBack();
  return h("a", {
    class: "back", href: "/",
    onclick: (e) => {
      if (back && e.button === 0 && !e.metaKey && !e.ctrlKey && !e.shiftKey) {
        e.preventDefault();
        history.back();
      }
    },
  }, back ? "← Back" : "← All runs");
}

/** A list of facts: [[label, value or node, title?], ...] (null values left out). */
export function facts(items) {
  return h("dl", { class: "facts" }, items.filter((i) => i && i[1] !== null && i[1] !== undefined)
    .map(([label, value, title]) => h("div", { class: "fact" }, h("dt", {}, label),
      h("dd", { title: title || (typeof value === "string" ? value : null) }, value))));
}

/** An iframe that shows a page of the query API (a report, a diff, a compare) at full width. */
export function frame(src, title) {
  return h("iframe", { class: "embedded", src, title });
}
