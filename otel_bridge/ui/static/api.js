// The query API, the only server paths the pages read (documented in the README).

/** An answer that was not 2xx: its status and the server's message in words. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** GET a JSON answer; a 401 sends the reader to the token form and comes back here after. */
export async function getJson(path, { signal } = {}) {
  let answer;
  try {
    answer = await fetch(path, { headers: { Accept: "application/json" }, signal });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "The collector does not answer (is it still running?).");
  }
  if (answer.status === 401) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    throw new ApiError(401, "The collector asks for its token.");
  }
  let body = null;
  try {
    body = await answer.json();
  } catch {
    // not JSON: the status says enough
  }
  if (!answer.ok) {
    const message = body && typeof body.error === "string" ? body.error : `HTTP ${answer.status}`;
    throw new ApiError(answer.status, message);
  }
  return body;
}

export const FILTERS = ["status", "agent", "session", "task", "q", "start", "end"];

/** The /api/traces query of a filter set (a plain object of strings), empty ones left out. */
export function traceQuery(filters, extra = {}) {
  const query = new URLSearchParams();
  for (const name of FILTERS) if (filters[name]) query.set(name, filters[name]);
  for (const [name, value] of Object.entries(extra)) if (value) query.set(name, value);
  return query;
}

export const traces = (filters, cursor, limit = 200, signal) =>
  getJson(`/api/traces?${traceQuery(filters, { cursor, limit: String(limit) })}`, { signal });
export const trace = (id) => getJson(`/api/traces/${encodeURIComponent(id)}`);
export const session = (id) => getJson(`/api/sessions/${encodeURIComponent(id)}`);
export const reportUrl = (id) => `/api/traces/${encodeURIComponent(id)}/report`;
