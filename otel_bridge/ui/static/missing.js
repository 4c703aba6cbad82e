// A page that says what is missing, in words, with a way back.
import { h } from "./dom.js";
import { backLink } from "./pagehead.js";

/** Fill `main` with a page that explains what is not there. */
export function notFound(main, text, detail = "") {
  document.title = "Not found · otel-bridge";
  main.replaceChildren(h("section", { class: "page missing", dataset: { missing: "true" } },
    h("h1", {}, "Not found"), h("p", { class: "lead" }, text),
    detail ? h("p", { class: "muted" }, detail) : null,
    h("p", {}, backLink())));
}

/** Fill `main` with a page for a failed request (the collector down, a refused answer). */
export function failed(main, text) {
  document.title = "Problem · otel-bridge";
  main.replaceChildren(h("section", { class: "page missing" },
    h("h1", {}, "Something went wrong"), h("p", { class: "lead problem" }, text),
    h("p", {}, backLink())));
}
