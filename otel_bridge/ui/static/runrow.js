// One run as a row of the runs list and of a session's list: the same cells everywhere.
import { agents, badge, clipped, cost, duration, exactCost, h, statusOf, tokens, when } from "./dom.js";

export const COLUMNS = [
  ["select", ""], ["status", "Status"], ["run", "Run"], ["started", "Started"],
  ["duration", "Duration"], ["agents", "Agents"], ["tokens", "Tokens"], ["cost", "Cost"],
  ["session", "Session"], ["task", "Task"],
];

/** The header row of the columns. */
export function headerRow() {
  return h("div", { class: "row head", role: "row" },
    COLUMNS.map(([key, label]) =>
      h("span", { class: `cell c-${key}`, role: "columnheader" }, key === "select" ? "" : label)));
}

/** A run's row; `selection` (a Selection) decides its checkbox. */
export function runRow(summary, selection) {
  const id = summary.trace_id;
  const status = statusOf(summary);
  const run = summary.run;
  const name = summary.root_name || "(no root span yet)";
  const box = h("input", {
    type: "checkbox", "aria-label": `Select run ${name} for a diff`, checked: selection.has(id),
    onchange: () => selection.toggle(id),
  });
  const session = summary.session_id
    ? h("a", { class: "clip", href: `/sessions/${encodeURIComponent(summary.session_id)}`,
      title: `Session ${summary.session_id}` }, summary.session_id)
    : h("span", { class: "muted" }, "–");
  return h("div", { class: `row status-${status}`, role: "row", dataset: { traceId: id, status } },
    h("span", { role: "cell", class: "cell c-select" }, box),
    h("span", { role: "cell", class: "cell c-status" },
      badge(status, status === "error" && summary.error_count ? `(${summary.error_count})` : "")),
    h("span", { role: "cell", class: "cell c-run" },
      h("a", { class: "clip run-name", href: `/runs/${encodeURIComponent(id)}`,
        title: `${name}\ntrace ${id}${summary.service ? `\nservice ${summary.service}` : ""}` }, name)),
    h("span", { role: "cell", class: "cell c-started", title: summary.start || "" }, when(summary.start)),
    h("span", { role: "cell", class: "cell c-duration num" }, duration(summary.duration_s)),
    clipped("span", agents(run), { role: "cell", class: "cell c-agents" }),
    h("span", { role: "cell", class: "cell c-tokens num",
      title: run && run.tokens_complete === false ? "Some LLM calls reported no token usage" : null },
    tokens(run)),
    h("span", { role: "cell", class: "cell c-cost num", title: exactCost(run && run.cost_usd) },
      cost(run ? run.cost_usd : null)),
    h("span", { role: "cell", class: "cell c-session" }, session),
    clipped("span", summary.task_id || "–", { role: "cell", class: "cell c-task" }),
  );
}

/** Up to two runs chosen for a diff: choosing a third lets the oldest choice go. */
export class Selection {
  constructor(onChange) {
    this.ids = [];
    this.onChange = onChange;
  }

  has(id) {
    return this.ids.includes(id);
  }

  toggle(id) {
    this.ids = this.has(id) ? this.ids.filter((x) => x !== id) : [...this.ids, id].slice(-2);
    this.onChange(this.ids);
  }

  /** The diff page of the two chosen runs, the first chosen as A. */
  diffHref() {
    const [a, b] = this.ids;
    return `/diff?${new URLSearchParams({ a, b })}`;
  }
}
