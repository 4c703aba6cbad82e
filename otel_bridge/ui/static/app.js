// The UI's entry: the top bar, the live stream, and the page of the current URL.
import { h } from "./dom.js";
import { showStatusIn, start } from "./live.js";
import { isPlainLocalClick, navigate, setRouter } from "./nav.js";
import * as compare from "./compare.js";
import * as run from "./run.js";
import * as runs from "./runs.js";
import * as session from "./session.js";
import { notFound } from "./missing.js";

const main = document.getElementById("app");
let leave = null;

function route() {
  if (leave) leave();
  leave = null;
  const path = location.pathname;
  let m;
  if (path === "/" || path === "/runs" || path === "/runs/") leave = runs.render(main);
  else if ((m = path.match(/^\/runs\/([^/]+)$/))) leave = run.render(main, decodeURIComponent(m[1]));
  else if ((m = path.match(/^\/sessions\/([^/]+)$/))) {
    leave = session.render(main, decodeURIComponent(m[1]));
  } else if (path === "/diff") leave = compare.renderDiff(main);
  else if (path === "/compare") leave = compare.renderCompare(main);
  else notFound(main, "There is no page at this address.");
  window.scrollTo(0, 0);
}

document.addEventListener("click", (event) => {
  const anchor = event.target.closest("a[href]");
  if (!isPlainLocalClick(event, anchor)) return;
  event.preventDefault();
  const url = new URL(anchor.href);
  if (url.pathname + url.search !== location.pathname + location.search) {
    navigate(url.pathname + url.search);
  }
});
window.addEventListener("popstate", route);

const status = h("span", { class: "live-status", id: "live-status", role: "status" });
document.getElementById("top").append(status);
showStatusIn(status);
setRouter(route);
if (!history.state) history.replaceState({ depth: 0 }, "", location.href);
start();
route();
