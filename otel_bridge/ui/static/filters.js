// The runs page's filters: read from and written to the page's URL query, turned into the
// /api/traces query, and checked against a live trace summary.
import { h } from "./dom.js";

export const SINCE = [
  ["", "Any time"], ["15m", "Last 15 minutes"], ["1h", "Last hour"], ["24h", "Last 24 hours"],
  ["7d", "Last 7 days"],
];
const SINCE_MS = { "15m": 9e5, "1h": 36e5, "24h": 864e5, "7d": 6048e5 };
const TEXT = [
  ["q", "Search", "name, agent, task…"], ["agent", "Agent", "agent"],
  ["session", "Session", "session id"], ["task", "Task", "task id"],
];
export const KEYS = ["since", "start", "end", "status", "agent", "session", "task", "q"];

/** The filters in a URL query (a URLSearchParams), every key a string ("" when not set). */
export function readFilters(search) {
  const query = new URLSearchParams(search);
  return Object.fromEntries(KEYS.map((k) => [k, (query.get(k) || "").trim()]));
}

/** The page URL query of filters (empty ones left out), with other parameters kept. */
export function filterSearch(filters, keep = {}) {
  const query = new URLSearchParams();
  for (const k of KEYS) if (filters[k]) query.set(k, filters[k]);
  for (const [k, v] of Object.entries(keep)) if (v) query.set(k, v);
  const text = query.toString();
  return text ? `?${text}` : "";
}

/** The /api/traces filters: "since" becomes an absolute start, now. */
export function apiFilters(filters, now = Date.now()) {
  const out = { ...filters };
  delete out.since;
  if (filters.since && SINCE_MS[filters.since]) {
    out.start = new Date(now - SINCE_MS[filters.since]).toISOString();
  }
  return out;
}

/** The filters as a url-encoded /api/traces query (for /api/compare's a= and b=). */
export function compareQuery(filters) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(apiFilters(filters))) if (v) query.set(k, v);
  return query.toString();
}

/** True when some filter is set. */
export const anyFilter = (filters) => KEYS.some((k) => filters[k]);

/** A filter set in words: "task = t1 · agent = writer" ("every run" when none is set). */
export function describe(query) {
  const parts = [...new URLSearchParams(query)].map(([k, v]) => `${k} = ${v}`);
  return parts.length ? parts.join(" · ") : "every run";
}

/** Does a live trace summary belong in the list of these filters (as the server would say)? */
export function matches(summary, filters, now = Date.now()) {
  const api = apiFilters(filters, now);
  const startMs = Date.parse(summary.start);
  if (api.start && !(startMs >= Date.parse(api.start))) return false;
  if (api.end && !(startMs < Date.parse(api.end))) return false;
  if (api.status === "open" && !summary.open) return false;
  if ((api.status === "ok" || api.status === "error") && summary.status !== api.status) return false;
  const agents = (summary.run && summary.run.agents) || [];
  if (api.agent && !agents.includes(api.agent)) return false;
  if (api.session && summary.session_id !== api.session) return false;
  if (api.task && summary.task_id !== api.task) return false;
  if (api.q) {
    const hay = [summary.trace_id, summary.root_name, summary.service, summary.session_id,
      summary.task_id, ...agents].filter(Boolean).join("\n").toLowerCase();
    if (!hay.includes(api.q.toLowerCase())) return false;
  }
  return true;
}

/** The filter form; `onChange(filters, committed)` on every edit (committed: a finished one). */
export function filterForm(filters, onChange) {
  const read = () => {
    const out = {};
    for (const k of KEYS) out[k] = form.elements[k] ? form.elements[k].value.trim() : filters[k];
    if (out.since !== "range") out.start = out.end = ""; // another time choice ends the link's
    else out.since = "";
    return out;
  };
  const select = (name, label, options, chosen = filters[name]) =>
    h("label", { class: "field" }, h("span", {}, label),
      h("select", { name }, options.map(([value, text]) =>
        h("option", { value, selected: chosen === value }, text))));
  const ranged = Boolean(filters.start || filters.end);
  const since = ranged ? [["range", "The link's time range"], ...SINCE] : SINCE;
  const form = h("form", { class: "filters", role: "search", onsubmit: (e) => e.preventDefault() },
    select("since", "Time", since, ranged ? "range" : filters.since),
    select("status", "Status", [["", "Any"], ["ok", "OK"], ["error", "Error"], ["open", "Open"]]),
    TEXT.map(([name, label, placeholder]) =>
      h("label", { class: `field field-${name}` }, h("span", {}, label),
        h("input", { type: "search", name, value: filters[name], placeholder, autocomplete: "off",
          spellcheck: "false" }))),
  );
  let timer = null;
  form.addEventListener("input", (e) => {
    clearTimeout(timer);
    const committed = e.target.tagName === "SELECT";
    timer = setTimeout(() => onChange(read(), committed), committed ? 0 : 250);
  });
  form.addEventListener("change", (e) => {
    if (e.target.tagName !== "SELECT") onChange(read(), true);
  });
  return form;
}
