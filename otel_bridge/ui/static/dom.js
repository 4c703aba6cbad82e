// Building the DOM without markup: every piece of data goes in as text (textContent), never
// as HTML, so span content that holds tags or scripts shows as the characters it is.

/** An element: h("a", { href: "/x", class: "c" }, "text", child, ...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

/** Append children: strings and numbers as text nodes, arrays flattened, null skipped. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** A text cell that is cut with an ellipsis by CSS and shows the whole text on hover. */
export function clipped(tag, text, attrs = {}) {
  const value = text === null || text === undefined ? "" : String(text);
  return h(tag, { ...attrs, class: `clip ${attrs.class || ""}`.trim(), title: value || null }, value);
}

/** Remove every child. */
export function clear(el) {
  el.replaceChildren();
  return el;
}

const INTEGER = new Intl.NumberFormat("en-US");

/** 12,345 tokens; "≥12,345" when some LLM calls reported no usage; "–" when unknown. */
export function tokens(run) {
  if (!run || run.total_tokens === null || run.total_tokens === undefined) return "–";
  return (run.tokens_complete === false ? "≥" : "") + INTEGER.format(run.total_tokens);
}

/** $0.0123, $0.00026, $0.000021 (short enough for a column), "–" when unknown. */
export function cost(usd) {
  if (usd === null || usd === undefined) return "–";
  if (usd === 0) return "$0";
  if (usd < 0.000001) return "<$0.000001";
  if (usd < 0.01) return `$${Number(usd.toPrecision(2)).toFixed(6).replace(/0+$/, "")}`;
  return `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}

/** The exact cost, for a title ("$0.0002553 (USD)"). */
export function exactCost(usd) {
  return usd === null || usd === undefined ? null : `$${usd} (USD)`;
}

/** 0.42 s, 12.3 s, 4 m 05 s, 2 h 03 m. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 10) return `${seconds.toFixed(2)} s`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} m`;
}

/** A start time in the reader's zone: "14:03:07" today, "Dec 5 14:03" before. */
export function when(iso) {
  if (!iso) return "–";
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const today = new Date().toDateString() === t.toDateString();
  return today
    ? t.toLocaleTimeString("en-GB", { hour12: false })
    : `${t.toLocaleDateString("en-US", { month: "short", day: "numeric" })} ${t.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" })}`;
}

/** The status word of a run summary: "open", "error" or "ok". */
export function statusOf(summary) {
  if (summary.open) return "open";
  return summary.status === "error" ? "error" : "ok";
}

/** A status badge: a coloured word (the word, not only the colour, says it). */
export function badge(word, extra = "") {
  return h("span", { class: `badge badge-${word}` }, extra ? `${word} ${extra}` : word);
}

/** The agents of a run as one line ("researcher, writer"), "–" before the run is derived. */
export function agents(run) {
  return run && run.agents && run.agents.length ? run.agents.join(", ") : "–";
}
