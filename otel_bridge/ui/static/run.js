// A run's page ("/runs/{trace_id}"): its facts and its report, which grows while the run does.
import * as api from "./api.js";
import { agents, badge, clipped, cost, duration, exactCost, h, statusOf, tokens, when } from "./dom.js";
import { subscribe } from "./live.js";
import { failed, notFound } from "./missing.js";
import { backLink, facts, frame } from "./pagehead.js";

const RELOAD_GAP_MS = 1500; // the report is reloaded at most this often while spans arrive
const OPEN_CHECK_MS = 6000; // an open run with no news for this long is read again

export function render(main, traceId) {
  document.title = "Run · otel-bridge";
  let left = false;
  let summary = null;
  let report = null;
  let timer = null;
  let lastReload = 0;
  let quiet = null;
  const head = h("div", { class: "page-head run-head" });
  main.replaceChildren(h("section", { class: "page run-page" }, head,
    h("p", { class: "muted" }, "Loading the run…")));

  function paintHead() {
    const status = statusOf(summary);
    const run = summary.run;
    const name = summary.root_name || "(no root span yet)";
    document.title = `${name} · Run · otel-bridge`;
    const session = summary.session_id
      ? h("a", { href: `/sessions/${encodeURIComponent(summary.session_id)}` }, summary.session_id)
      : null;
    head.replaceChildren(
      h("div", { class: "title-line" }, backLink(), clipped("h1", name),
        badge(status, status === "error" && summary.error_count ? `(${summary.error_count})` : ""),
        h("span", { class: `state state-${summary.open ? "open" : "ended"}`, dataset: { open: String(Boolean(summary.open)) } },
          summary.open ? "in progress: the report grows as spans arrive" : "ended")),
      facts([
        ["Agents", agents(run)],
        ["Tokens", tokens(run), run && run.tokens_complete === false ? "Some LLM calls reported no token usage" : null],
        ["Cost", cost(run ? run.cost_usd : null), exactCost(run && run.cost_usd)],
        ["Duration", duration(summary.duration_s)],
        ["Started", when(summary.start), summary.start],
        ["Spans", summary.span_count == null ? null : String(summary.span_count)],
        ["Session", session, summary.session_id],
        ["Task", summary.task_id],
      ]));
  }

  function reloadReport() {
    clearTimeout(timer);
    const wait = lastReload + RELOAD_GAP_MS - Date.now();
    if (wait > 0) {
      timer = setTimeout(reloadReport, wait);
      return;
    }
    lastReload = Date.now();
    try {
      const y = report.contentWindow.scrollY;
      report.addEventListener("load", () => report.contentWindow.scrollTo(0, y), { once: true });
      report.contentWindow.location.reload();
    } catch {
      report.src = api.reportUrl(traceId);
    }
  }

  // The server calls a run open for a few seconds after its last spans: without news, ask again.
  function checkLater() {
    clearTimeout(quiet);
    if (summary && summary.open) quiet = setTimeout(() => load().then(() => report && reloadReport()), OPEN_CHECK_MS);
  }

  async function load() {
    try {
      summary = await api.trace(traceId);
    } catch (err) {
      if (left) return;
      if (err.status === 404 || err.status === 400) {
        notFound(main, `No run has the trace id ${traceId}.`, err.status === 400 ? err.message : "");
      } else failed(main, `Could not read the run: ${err.message}`);
      return;
    }
    if (left) return;
    paintHead();
    checkLater();
    if (!report) {
      report = frame(api.reportUrl(traceId), `Report of the run ${summary.root_name || traceId}`);
      lastReload = Date.now();
      main.firstChild.replaceChildren(head, report);
    }
  }

  const stop = subscribe((event, data) => {
    if (!summary) return;
    if (event === "sync") {
      load().then(() => report && reloadReport());
      return;
    }
    if (data.trace_id !== summary.trace_id) return;
    const grew = data.span_count !== summary.span_count ||
      JSON.stringify(data.run) !== JSON.stringify(summary.run) || data.open !== summary.open;
    summary = data;
    paintHead();
    checkLater();
    if (grew && report) reloadReport();
  });
  load();
  return () => {
    left = true;
    clearTimeout(timer);
    clearTimeout(quiet);
    stop();
  };
}
