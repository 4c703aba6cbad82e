// A windowed list of runs: however many runs are loaded, only the rows in view (and a few
// around them) are in the DOM. Rows have one fixed height (ROW_HEIGHT, as in app.css).
import { h } from "./dom.js";
import { headerRow, runRow } from "./runrow.js";

export const ROW_HEIGHT = 36;
const OVERSCAN = 8; // rows drawn above and below the visible ones
const LOAD_AHEAD = 60; // rows left below the view when the next page is asked for

export class RunList {
  /** `loadMore()` is called when the reader nears the end of the loaded runs. */
  constructor(selection, loadMore) {
    this.selection = selection;
    this.loadMore = loadMore;
    this.rows = [];
    this.more = false;
    this.problem = ""; // why older runs could not be read, in words
    this.drawn = null;
    this.built = new Map(); // trace id -> {summary, el, top}: the rows in the DOM
    this.layer = h("div", { class: "layer", role: "rowgroup" });
    this.spacer = h("div", { class: "spacer" }, this.layer);
    this.footer = h("div", { class: "list-footer", "aria-live": "polite" });
    this.scroller = h("div", { class: "scroller" }, headerRow(), this.spacer, this.footer);
    this.el = h("div", { class: "runlist", role: "table", "aria-label": "Runs, newest first" },
      this.scroller);
    this.scroller.addEventListener("scroll", () => this.draw(), { passive: true });
    this.resize = new ResizeObserver(() => this.draw());
    this.resize.observe(this.scroller);
  }

  /** Show these runs (newest first); `more`: the server has older ones. */
  set(rows, more) {
    this.rows = rows;
    this.more = more;
    this.scroller.scrollTop = 0;
    this.draw(true);
  }

  /** Add an older page at the end. */
  append(rows, more) {
    const known = new Set(this.rows.map((r) => r.trace_id));
    this.rows.push(...rows.filter((r) => !known.has(r.trace_id)));
    this.more = more;
    this.draw(true);
  }

  /** Take in live summaries: update, insert (newest first) or remove (`belongs` false). */
  update(summaries, belongs) {
    let above = 0;
    const first = Math.floor(this.scroller.scrollTop / ROW_HEIGHT);
    for (const s of summaries) {
      const at = this.rows.findIndex((r) => r.trace_id === s.trace_id);
      if (at >= 0) {
        this.rows.splice(at, 1);
        if (at < first) above -= 1;
      }
      if (!belongs(s)) continue;
      let to = this.rows.findIndex((r) => newer(s, r));
      if (to < 0) {
        if (this.more) continue; // older than every loaded run: a later page brings it
        to = this.rows.length;
      }
      this.rows.splice(to, 0, s);
      if (to < first) above += 1;
    }
    // Keep the rows the reader looks at in place when runs come or go above them.
    if (above && this.scroller.scrollTop > 0) this.scroller.scrollTop += above * ROW_HEIGHT;
    this.draw(true);
  }

  /** Redraw the rows in view (`changed`: the data changed, not only the scroll position). */
  draw(changed = false) {
    if (changed) this.drawn = null;
    if (changed === "all") { // e.g. the selection changed: every checkbox
      for (const entry of this.built.values()) entry.el.remove();
      this.built.clear();
    }
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = null;
      this.paint();
    });
  }

  paint() {
    const n = this.rows.length;
    const top = this.scroller.scrollTop;
    const height = this.scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(n, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    this.spacer.style.height = `${n * ROW_HEIGHT}px`;
    this.footer.textContent = this.problem || (this.more ? "Loading older runs…" : "");
    if (!this.drawn || this.drawn[0] !== first || this.drawn[1] !== last) {
      this.drawn = [first, last];
      this.place(first, last);
    }
    if (this.more && last >= n - LOAD_AHEAD) this.loadMore();
  }

  // Rows that stay in view are kept (moved if their place changed), rows that come into view
  // are built, rows that leave are removed; the DOM keeps the list's order.
  place(first, last) {
    const kept = new Map();
    for (let i = first; i < last; i++) {
      const r = this.rows[i];
      let entry = this.built.get(r.trace_id);
      if (!entry || entry.summary !== r) entry = { summary: r, el: runRow(r, this.selection), top: -1 };
      if (entry.top !== i) {
        entry.el.style.transform = `translateY(${i * ROW_HEIGHT}px)`;
        entry.top = i;
      }
      kept.set(r.trace_id, entry);
    }
    for (const [id, entry] of this.built) if (kept.get(id) !== entry) entry.el.remove();
    let at = this.layer.firstChild;
    for (const { el } of kept.values()) {
      if (el === at) at = at.nextSibling;
      else this.layer.insertBefore(el, at);
    }
    this.built = kept;
  }

  /** Stop watching the list's size (the page is left). */
  close() {
    this.resize.disconnect();
    if (this.pending) cancelAnimationFrame(this.pending);
  }
}

function newer(a, b) {
  if (a.start_ns !== b.start_ns) return a.start_ns > b.start_ns;
  return a.trace_id > b.trace_id;
}
