// A session's page ("/sessions/{id}"): its runs oldest first (turns, repetitions) and totals.
import * as api from "./api.js";
import { clipped, cost, duration, exactCost, h } from "./dom.js";
import { subscribe } from "./live.js";
import { failed, notFound } from "./missing.js";
import { navigate } from "./nav.js";
import { backLink, facts } from "./pagehead.js";
import { headerRow, runRow, Selection } from "./runrow.js";

const INTEGER = new Intl.NumberFormat("en-US");

export function render(main, sessionId) {
  document.title = `Session ${sessionId} · otel-bridge`;
  let left = false;
  let body = null;
  let timer = null;
  const selection = new Selection(() => paint());
  const page = h("section", { class: "page session-page" },
    h("p", { class: "muted" }, "Loading the session…"));
  main.replaceChildren(page);

  function paint() {
    const t = body.totals;
    const n = selection.ids.length;
    page.replaceChildren(
      h("div", { class: "page-head" },
        h("div", { class: "title-line" }, backLink(), clipped("h1", `Session ${sessionId}`)),
        facts([
          ["Runs", INTEGER.format(t.runs)],
          ["Tokens", (t.tokens_complete === false ? "≥" : "") + INTEGER.format(t.total_tokens || 0),
            t.tokens_complete === false ? "Some LLM calls reported no token usage" : null],
          ["Cost", (t.cost_complete === false ? "≥" : "") + cost(t.cost_usd),
            t.cost_complete === false ? "Some runs have no known price" : exactCost(t.cost_usd)],
          ["Duration", duration(t.duration_s), "The runs' durations added up"],
          ["Errors", INTEGER.format(t.errors)],
        ]),
        h("div", { class: "tools" },
          h("button", { type: "button", class: "primary", disabled: n !== 2,
            title: n === 2 ? "Compare the two runs step by step" : "Tick two runs to compare them",
            onclick: () => navigate(selection.diffHref()) }, `Diff selected runs (${n} of 2)`))),
      body.runs.length
        ? h("div", { class: "runlist static", role: "table", "aria-label": "Runs of the session, oldest first" },
          headerRow(), h("div", { role: "rowgroup" }, body.runs.map((r) => runRow(r, selection))))
        : h("p", { class: "empty" }, "This session has no runs."));
  }

  async function load() {
    try {
      body = await api.session(sessionId);
    } catch (err) {
      if (left) return;
      if (err.status === 404 || err.status === 400) {
        notFound(main, `No runs belong to a session ${sessionId}.`, err.status === 400 ? err.message : "");
      } else failed(main, `Could not read the session: ${err.message}`);
      return;
    }
    if (!left) paint();
  }

  const stop = subscribe((event, data) => {
    if (event === "trace" && data.session_id !== sessionId) return;
    clearTimeout(timer);
    timer = setTimeout(load, 300); // a few events in a row are read once
  });
  load();
  return () => {
    left = true;
    clearTimeout(timer);
    stop();
  };
}
