// Moving between pages without reloading: the History API, one entry per page the reader opens.

let router = () => {};

/** The function that shows the page of the current location (set once by app.js). */
export function setRouter(fn) {
  router = fn;
}

/** Open a page of the UI: a new history entry (or the current one replaced). */
export function navigate(href, { replace = false } = {}) {
  const depth = (history.state && history.state.depth) || 0;
  if (replace) history.replaceState({ depth }, "", href);
  else history.pushState({ depth: depth + 1 }, "", href);
  router();
}

/** True when the browser's back button leads to another page of this UI. */
export const canGoBack = () => Boolean(history.state && history.state.depth > 0);

/** A plain click on a local link (no modifier keys, no new tab) that the UI handles itself. */
export function isPlainLocalClick(event, anchor) {
  if (event.defaultPrevented || event.button !== 0) return false;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return false;
  if (!anchor || anchor.target || anchor.hasAttribute("download")) return false;
  const url = new URL(anchor.href, location.href);
  return url.origin === location.origin && !url.pathname.startsWith("/api/") &&
    !url.pathname.startsWith("/static/") && url.pathname !== "/login";
}
