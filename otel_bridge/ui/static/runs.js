// The runs page ("/"): every run newest first, filtered, growing live, a windowed list.
import * as api from "./api.js";
import { h } from "./dom.js";
import {
  anyFilter, apiFilters, compareQuery, describe, filterForm, filterSearch, matches, readFilters,
} from "./filters.js";
import { subscribe } from "./live.js";
import { navigate } from "./nav.js";
import { RunList } from "./runlist.js";
import { Selection } from "./runrow.js";

const PAGE = 200; // runs per /api/traces request
const OPEN_CHECK_MS = 3000; // how often runs shown as open, with no news for a while, are re-read
const RETRY_MS = 3000; // a failed read is tried again after this
const INTEGER = new Intl.NumberFormat("en-US");

export function render(main) {
  document.title = "Runs · otel-bridge";
  const state = { filters: readFilters(location.search), cmp: cmpOf(location.search) };
  let cursor = null;
  let generation = 0; // answers to an older load are dropped
  let loading = false;
  let pushed = true; // the URL's history entry was made for a finished edit

  const selection = new Selection(() => { list.draw("all"); paintTools(); });
  const list = new RunList(selection, () => loadMore());
  const counts = h("p", { class: "counts", "aria-live": "polite" });
  const message = h("div", { class: "empty", hidden: true });
  const tools = h("div", { class: "tools" });

  async function load() {
    const mine = ++generation;
    loading = true;
    paintCounts();
    try {
      const page = await api.traces(apiFilters(state.filters), null, PAGE);
      if (mine !== generation) return;
      cursor = page.next_cursor;
      list.set(page.traces, Boolean(cursor));
      loading = false;
      paintCounts();
    } catch (err) {
      if (mine !== generation) return;
      loading = false;
      list.set([], false);
      paintCounts(`Could not read the runs: ${err.message} Trying again in a few seconds.`);
      setTimeout(() => { if (mine === generation) load(); }, RETRY_MS);
    }
  }

  let retryAt = 0;
  async function loadMore() {
    if (loading || !cursor || Date.now() < retryAt) return;
    const mine = generation;
    loading = true;
    try {
      const page = await api.traces(apiFilters(state.filters), cursor, PAGE);
      if (mine !== generation) return;
      cursor = page.next_cursor;
      list.problem = "";
      list.append(page.traces, Boolean(cursor));
    } catch (err) {
      if (mine !== generation) return;
      retryAt = Date.now() + RETRY_MS; // scrolling asks again after this
      list.problem = `Could not read older runs: ${err.message}`;
      list.draw(true);
    } finally {
      if (mine === generation) {
        loading = false;
        paintCounts();
      }
    }
  }

  // Live: summaries are taken in once per frame, however many arrive.
  let queued = [];
  const stop = subscribe((event, data) => {
    if (event === "sync") {
      if (data.restarted) load();
      else refreshFirstPage();
      return;
    }
    if (!queued.length) requestAnimationFrame(flush);
    queued.push(data);
  });
  function flush() {
    const now = Date.now();
    for (const s of queued) heard.set(s.trace_id, now);
    list.update(queued, (s) => matches(s, state.filters, now));
    queued = [];
    paintCounts();
  }

  // A run stops being open without news (the server says "open" for a few seconds after its
  // last spans): re-read the open runs that have been quiet, a few at a time.
  const heard = new Map();
  const openCheck = setInterval(async () => {
    const now = Date.now();
    const quiet = list.rows.filter((r) => r.open && now - (heard.get(r.trace_id) || 0) > OPEN_CHECK_MS)
      .slice(0, 20);
    for (const r of quiet) heard.set(r.trace_id, now);
    const fresh = await Promise.allSettled(quiet.map((r) => api.trace(r.trace_id)));
    const found = fresh.filter((f) => f.status === "fulfilled").map((f) => f.value);
    if (found.length) {
      queued.push(...found);
      requestAnimationFrame(flush);
    }
  }, OPEN_CHECK_MS);
  async function refreshFirstPage() {
    const mine = generation;
    try {
      const page = await api.traces(apiFilters(state.filters), null, PAGE);
      if (mine === generation) list.update(page.traces, () => true);
      paintCounts();
    } catch {
      // the stream will say when the collector is back
    }
  }

  function paintCounts(problem) {
    const rows = list.rows;
    const errors = rows.filter((r) => r.status === "error").length;
    const open = rows.filter((r) => r.open).length;
    counts.dataset.runs = String(rows.length);
    const runs = `${INTEGER.format(rows.length)}${cursor ? "+" : ""} run${rows.length === 1 && !cursor ? "" : "s"}`;
    counts.textContent = loading && !rows.length ? "Loading runs…"
      : `${runs} · ${errors} with errors · ${open} open`;
    message.hidden = Boolean(rows.length) || (loading && !problem);
    list.el.hidden = !message.hidden;
    message.replaceChildren(...(problem ? [h("p", { class: "problem" }, problem)] : emptyState()));
  }

  function emptyState() {
    if (anyFilter(state.filters)) {
      return [h("p", {}, "No runs match these filters."),
        h("p", {}, h("a", { href: "/" }, "Show every run"))];
    }
    const endpoint = `${location.origin}/v1/traces`;
    return [
      h("p", { class: "lead" }, `No runs yet. Send spans to ${endpoint} (OTLP/HTTP) or to the ` +
        "collector's OTLP/gRPC port; each run shows up here within a second of its first spans."),
      h("p", {}, "For example: ",
        h("code", {}, `OTEL_EXPORTER_OTLP_ENDPOINT=${location.origin} otel-bridge demo`)),
    ];
  }

  function paintTools() {
    const n = selection.ids.length;
    const diff = h("button", { type: "button", disabled: n !== 2, class: "primary",
      title: n === 2 ? "Compare the two runs step by step" : "Tick two runs to compare them",
      onclick: () => navigate(selection.diffHref()) }, `Diff selected runs (${n} of 2)`);
    const cmp = state.cmp
      ? [h("span", { class: "chip clip", title: `A: ${describe(state.cmp)}` }, `A: ${describe(state.cmp)}`),
        h("button", { type: "button", class: "primary",
          title: "Compare the runs of filter set A with the runs these filters show",
          onclick: () => navigate(`/compare?${new URLSearchParams({ a: state.cmp, b: compareQuery(state.filters) })}`) },
        "Compare A with these filters"),
        h("button", { type: "button", title: "Forget filter set A",
          onclick: () => setCmp("") }, "Clear A")]
      : [h("button", { type: "button",
        title: "Keep these filters as side A; change the filters, then compare",
        onclick: () => setCmp(compareQuery(state.filters)) }, "Use these filters as A")];
    tools.replaceChildren(diff, h("span", { class: "sep" }), ...cmp);
  }

  function setCmp(query) {
    state.cmp = query;
    history.pushState(history.state, "", `/${filterSearch(state.filters, { cmp: query })}`);
    paintTools();
  }

  const form = filterForm(state.filters, (filters, committed) => {
    const url = `/${filterSearch(filters, { cmp: state.cmp })}`;
    if (url !== location.pathname + location.search) {
      // One history entry per finished edit: typing replaces, the next edit after it pushes.
      if (pushed) history.pushState(history.state, "", url);
      else history.replaceState(history.state, "", url);
      pushed = false;
    }
    if (committed) pushed = true;
    if (JSON.stringify(filters) === JSON.stringify(state.filters)) return;
    state.filters = filters;
    load();
  });

  main.replaceChildren(
    h("section", { class: "page runs-page" },
      h("div", { class: "page-head" }, h("h1", {}, "Runs"), counts, tools),
      form, message, list.el));
  paintTools();
  load();
  return () => {
    generation += 1;
    clearInterval(openCheck);
    stop();
    list.close();
  };
}

function cmpOf(search) {
  return new URLSearchParams(search).get("cmp") || "";
}
