// Drives the collector's web UI in the system's headless Chromium while a test sends runs:
//
//   node inspect_ui.mjs BASE_URL TOKEN SCREENSHOT_DIR
//
// A conversation over stdin/stdout, one JSON object a line. The driver signs in through the
// token form (a wrong token first), opens the runs page and says {"stage": "ready"}; the test
// sends runs and answers {"runs": {trace_id: sent_ms, ...}, "payload": [ids], "diff": [a, b],
// "compare": [[field, value], [field, value]]}. The driver watches the rows appear (without a reload), opens a run, its
// session, goes back, diffs two runs, compares two filter sets, then says {"stage": "restart"};
// the test restarts the collector on the same port and sends one more run ({"runs": {...}}).
// The last line is {"stage": "done", ...what was seen} (or {"stage": "failed", "error", ...}): rows, counts, texts, the times rows
// took to appear, console errors and page errors by stage, every request that left BASE_URL's
// host, and whether a script in the data ran (window.__pwned).
import { chromium } from "playwright-core";
import { createInterface } from "node:readline";
import { join } from "node:path";

const [base, token, shots] = process.argv.slice(2);
const host = new URL(base).host;
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const hear = async () => JSON.parse((await lines.next()).value);
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

const out = { stage: "done", consoleErrors: [], pageErrors: [], foreignRequests: [] };
let stage = "login";

async function until(what, test, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await test();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (stage ${stage})`);
    await sleep(50);
  }
}

// What the runs page shows: its rows in order and its counts line.
const runsView = (page) => page.evaluate(() => ({
  url: location.pathname + location.search,
  counts: document.querySelector(".counts") && document.querySelector(".counts").textContent,
  runs: Number(document.querySelector(".counts") && document.querySelector(".counts").dataset.runs),
  domRows: document.querySelectorAll(".layer .row").length,
  rows: Array.from(document.querySelectorAll(".layer .row")).map((r) => ({
    id: r.dataset.traceId, status: r.dataset.status,
    cells: Object.fromEntries(Array.from(r.children).map((c) => [c.className.match(/c-(\w+)/)[1], c.textContent])),
  })),
  rowHeights: [...new Set(Array.from(document.querySelectorAll(".layer .row"))
    .map((r) => Math.round(r.getBoundingClientRect().height)))],
  marker: window.__marker === true,
  pwned: Boolean(window.__pwned),
}));

// A frame of the page (the report, the diff, the compare) once `selector` is in it.
async function frameWith(page, path, selector) {
  const frame = await until(`a frame of ${path}`, async () =>
    page.frames().find((f) => new URL(f.url(), base).pathname === path));
  await frame.waitForSelector(selector, { timeout: 30000 });
  return frame;
}

const shot = (page, name) => page.screenshot({ path: join(shots, `ui-${name}.png`) });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.on("request", (r) => {
    const url = new URL(r.url());
    if (url.protocol !== "data:" && url.host !== host) out.foreignRequests.push(r.url());
  });
  const page = await context.newPage();
  page.on("console", (m) => { if (m.type() === "error") out.consoleErrors.push({ stage, text: m.text() }); });
  page.on("pageerror", (e) => out.pageErrors.push({ stage, text: String(e) }));

  // 1. Without the token: the form, a wrong token in words, the right one lets in.
  await page.goto(`${base}/?status=ok`);
  out.login = { redirectedTo: page.url().slice(base.length), shownBefore: await page.isVisible("#failed") };
  await shot(page, "login-form");
  await page.fill("#token", `${token}-wrong`);
  await Promise.all([page.waitForURL(/failed=1/), page.click("button[type=submit]")]);
  out.login.afterWrong = page.url().slice(base.length);
  out.login.failedText = (await page.isVisible("#failed")) ? await page.textContent("#failed") : null;
  await shot(page, "login");
  await page.fill("#token", token);
  await Promise.all([page.waitForURL(`${base}/?status=ok`), page.click("button[type=submit]")]);
  out.login.afterRight = page.url().slice(base.length);
  await page.click("a.brand"); // every run, through the UI's own link
  await until("the live stream", () => page.isVisible(".live-status[data-state=live]"));
  out.empty = await page.textContent(".empty");
  await page.evaluate(() => {
    window.__marker = true; // gone if the page is ever reloaded
    window.__seen = {};
    const note = () => {
      for (const r of document.querySelectorAll("[data-trace-id]")) {
        if (!(r.dataset.traceId in window.__seen)) window.__seen[r.dataset.traceId] = Date.now();
      }
    };
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true });
  });

  // 2. Runs arrive while the page is open.
  stage = "live";
  say({ stage: "ready" });
  const sent = await hear();
  const ids = Object.keys(sent.runs);
  const seen = await until("every run's row", () => page.evaluate((want) =>
    want.every((id) => id in window.__seen) && window.__seen, ids));
  out.appearedAfterMs = Object.fromEntries(ids.map((id) => [id, seen[id] - sent.runs[id]]));
  // Counts and figures fill in as the collector derives the runs; runs just sent are open
  // for a few seconds, then ended.
  out.sawOpen = false;
  out.runs = await until("every run derived and ended", async () => {
    const view = await runsView(page);
    out.sawOpen ||= view.rows.some((r) => r.status === "open");
    return view.runs === ids.length && view.rows.every((r) => r.cells.tokens !== "–" && r.status !== "open") && view;
  });
  await shot(page, "runs");
  await page.setViewportSize({ width: 800, height: 800 });
  await shot(page, "runs-800");
  await page.setViewportSize({ width: 1280, height: 800 });

  // 3. A run: its page, its report; then its session; back twice.
  stage = "run";
  const [payloadRun] = sent.payload;
  await page.click(`[data-trace-id="${payloadRun}"] a.run-name`);
  await page.waitForURL(`${base}/runs/${payloadRun}`);
  const report = await frameWith(page, `/api/traces/${payloadRun}/report`, "h1");
  out.run = await page.evaluate(() => ({
    title: document.querySelector(".run-head h1").textContent,
    state: document.querySelector(".state").textContent,
    facts: Object.fromEntries(Array.from(document.querySelectorAll(".fact"))
      .map((f) => [f.querySelector("dt").textContent, f.querySelector("dd").textContent])),
    marker: window.__marker === true,
    pwned: Boolean(window.__pwned),
  }));
  out.run.report = await report.evaluate(() => ({
    h1: document.querySelector("h1").textContent.trim(), pwned: Boolean(window.__pwned),
  }));
  await shot(page, "run");
  stage = "session";
  await page.click(".fact a[href^='/sessions/']");
  await page.waitForURL(/\/sessions\//);
  await page.waitForSelector(".session-page .facts");
  out.session = await page.evaluate(() => ({
    url: location.pathname,
    title: document.querySelector("h1").textContent,
    rows: Array.from(document.querySelectorAll(".session-page [data-trace-id]")).map((r) => r.dataset.traceId),
    facts: Object.fromEntries(Array.from(document.querySelectorAll(".fact"))
      .map((f) => [f.querySelector("dt").textContent, f.querySelector("dd").textContent])),
    pwned: Boolean(window.__pwned),
  }));
  await shot(page, "session");
  stage = "back";
  await page.goBack();
  await page.waitForURL(`${base}/runs/${payloadRun}`);
  out.backTo = [page.url().slice(base.length)];
  await page.goBack();
  await page.waitForURL(`${base}/`);
  await page.waitForSelector(".layer .row");
  out.backTo.push(page.url().slice(base.length));

  // 4. Two runs ticked: their diff.
  stage = "diff";
  const [a, b] = sent.diff;
  await page.check(`[data-trace-id="${a}"] input[type=checkbox]`);
  await page.check(`[data-trace-id="${b}"] input[type=checkbox]`);
  await page.click("text=Diff selected runs (2 of 2)");
  await page.waitForURL(/\/diff\?/);
  const diff = await frameWith(page, "/api/diff", "#first-divergence");
  out.diff = {
    url: page.url().slice(base.length),
    sides: await page.textContent(".sides"),
    firstDivergence: (await diff.textContent("#first-divergence")).trim().replace(/\s+/g, " "),
  };
  await shot(page, "diff");

  // 5. Two filter sets: their compare; reloading the page shows it again.
  stage = "compare";
  await page.goto(`${base}/`); // a fresh load of the runs page, as a shared link would be
  await page.waitForSelector(".layer .row");
  const [[f1, v1], [f2, v2]] = sent.compare;
  const before = (await runsView(page)).runs;
  await page.fill(`input[name=${f1}]`, v1);
  await page.waitForURL(new RegExp(`${f1}=${v1}`));
  // The runs the query API gives for that filter: the page shows exactly those once settled.
  const wanted = await page.evaluate(async (query) => {
    const answer = await fetch(`/api/traces?${query}&limit=1000`);
    return (await answer.json()).traces.map((t) => t.trace_id).sort().join(" ");
  }, `${f1}=${encodeURIComponent(v1)}`);
  await until("the filtered rows", async () => {
    const view = await runsView(page);
    return view.runs < before && view.rows.map((r) => r.id).sort().join(" ") === wanted;
  });
  out.filtered = await runsView(page);
  await page.click("text=Use these filters as A");
  await page.fill(`input[name=${f1}]`, "");
  await page.fill(`input[name=${f2}]`, v2);
  await page.waitForURL(new RegExp(`${f2}=${v2}`));
  await page.click("text=Compare A with these filters");
  await page.waitForURL(/\/compare\?/);
  await frameWith(page, "/api/compare", "table");
  await page.reload();
  const compared = await frameWith(page, "/api/compare", "table");
  out.compare = {
    url: page.url().slice(base.length),
    sides: await page.textContent(".sides"),
    frameTitle: await compared.title(),
  };
  await shot(page, "compare");

  // 6. The collector restarts while the runs page is open: it reconnects, no reload.
  stage = "restart";
  await page.goto(`${base}/`);
  await page.waitForSelector(".layer .row");
  await until("the live stream", () => page.isVisible(".live-status[data-state=live]"));
  await page.evaluate(() => {
    window.__marker = true;
    window.__statuses = []; // every text the status line shows, in order
    const line = document.querySelector(".live-status");
    new MutationObserver(() => {
      if (window.__statuses[window.__statuses.length - 1] !== line.textContent) {
        window.__statuses.push(line.textContent);
      }
    }).observe(line, { subtree: true, childList: true, characterData: true });
  });
  say({ stage: "restart" });
  const after = await hear();
  const [late] = Object.keys(after.runs);
  await until("the run sent after the restart", () => page.isVisible(`[data-trace-id="${late}"]`));
  out.statuses = await page.evaluate(() => window.__statuses);
  out.afterRestart = await runsView(page);

  // 7. An id no collector has: a page that says so, with a way back.
  stage = "unknown";
  await page.goto(`${base}/runs/${"0".repeat(32)}`);
  await page.waitForSelector("[data-missing]");
  out.unknown = { text: await page.textContent("[data-missing] .lead"), back: await page.getAttribute(".back", "href") };

  // 8. A run in progress: its page says so, then grows when the rest of its spans arrive.
  stage = "grow";
  say({ stage: "grow" });
  const { grow } = await hear(); // a run whose root span has not arrived yet
  let reports = 0;
  page.on("framenavigated", (f) => {
    if (new URL(f.url(), base).pathname === `/api/traces/${grow}/report`) reports += 1;
  });
  const facts = () => page.evaluate(() => ({
    state: document.querySelector(".state").textContent,
    spans: document.querySelector(".facts") && Array.from(document.querySelectorAll(".fact"))
      .find((f) => f.querySelector("dt").textContent === "Spans").querySelector("dd").textContent,
    marker: window.__marker === true,
  }));
  await page.goto(`${base}/runs/${grow}`);
  await frameWith(page, `/api/traces/${grow}/report`, "h1");
  await page.evaluate(() => { window.__marker = true; });
  out.grow = { before: await facts() };
  await shot(page, "run-open");
  say({ stage: "grown" });
  await hear(); // the root span was sent
  await until("the run to end", async () => (await facts()).state === "ended", 60000);
  out.grow.after = await facts();
  out.grow.reports = reports;
} catch (err) {
  // What went wrong, where, and what the page looked like: the test shows it.
  Object.assign(out, { stage: "failed", failedAt: stage, error: String((err && err.stack) || err) });
  const [open] = browser.contexts().flatMap((c) => c.pages());
  if (open) await open.screenshot({ path: join(shots, "ui-failed.png") }).catch(() => null);
} finally {
  await browser.close();
}
say(out);
