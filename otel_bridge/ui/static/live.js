// Live updates from /api/events (server-sent events), shared by every page of the tab.
//
// Events: "trace" (a trace summary: the trace is new, got spans, or its run was derived) and
// "sync" (the stream came back after a break: pages reload what they show; `restarted` is true
// when the collector is another process than before, told by its hello's server_id).

const listeners = new Set();
const statusLine = { el: null, text: "connecting…", state: "connecting" };
let source = null;
let serverId = null;
let connectedOnce = false;
let retryMs = 500;

/** Call `fn(event, data)` for every event; returns the function that stops it. */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Show the connection's state in this element ("live", "reconnecting…"). */
export function showStatusIn(el) {
  statusLine.el = el;
  paint();
}

/** Open the stream (once per tab). */
export function start() {
  if (source) return;
  connect();
}

function connect() {
  source = new EventSource("/api/events");
  source.addEventListener("hello", (e) => {
    const hello = parse(e.data);
    if (!hello) return;
    retryMs = 500;
    const restarted = serverId !== null && hello.server_id !== serverId;
    serverId = hello.server_id;
    setStatus(hello.live === false ? "static" : "live");
    if (connectedOnce) emit("sync", { restarted });
    connectedOnce = true;
  });
  source.addEventListener("trace", (e) => {
    const summary = parse(e.data);
    if (summary && summary.trace_id) emit("trace", summary);
  });
  source.addEventListener("error", () => {
    // The browser retries on its own only sometimes (not after an HTTP error): always do it
    // here, a little later each time, up to every 5 s.
    source.close();
    source = null;
    setStatus("reconnecting");
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 5000);
  });
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function emit(event, data) {
  for (const fn of listeners) fn(event, data);
}

const WORDS = {
  connecting: ["connecting…", "Connecting to the collector's live updates"],
  live: ["live", "New runs and spans show up as they arrive"],
  static: ["read-only", "A read-only source (a file, Phoenix, Jaeger…): reload to see new runs"],
  reconnecting: ["reconnecting…", "The collector does not answer; trying again"],
};

function setStatus(state) {
  statusLine.state = state;
  paint();
}

function paint() {
  const el = statusLine.el;
  if (!el) return;
  const [text, title] = WORDS[statusLine.state];
  el.textContent = text;
  el.title = title;
  el.dataset.state = statusLine.state;
}
