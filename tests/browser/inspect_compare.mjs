// Opens an otel-bridge diff or compare page in the system's headless Chromium and prints what a
// person would see, as JSON on stdout: node inspect_compare.mjs MODE FILE [SCREENSHOT.png] [WxH]
//
//   diff     a diff page: lanes, steps and their statuses, the first divergence, the details of
//            a click on one of B's bars, the steps left by "only the steps that differ"
//   compare  a compare page: task rows, rows left by the verdict filter, the order after a sort,
//            the diff links
//
// Both modes report console errors (CSP violations included), page errors, any request other
// than the file itself, and whether a script in the data ran (window.__pwned).
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";

const [mode, file, screenshot, size = "1280x900"] = process.argv.slice(2);
const [width, height] = size.split("x").map(Number);
const url = pathToFileURL(file).href;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const out = { consoleErrors: [], pageErrors: [], requests: [] };
try {
  const page = await browser.newPage({ viewport: { width, height } });
  page.on("console", (m) => { if (m.type() === "error") out.consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => out.pageErrors.push(String(e)));
  page.on("request", (r) => { if (r.url() !== url) out.requests.push(r.url()); });
  await page.goto(url, { waitUntil: "load" });

  if (mode === "diff") {
    const steps = () => page.evaluate(() =>
      Array.from(document.querySelectorAll("#step-table tbody tr")).filter((r) => !r.hidden)
        .map((r) => r.dataset.status));
    Object.assign(out, await page.evaluate(() => {
      const text = (el) => (el ? el.textContent.trim().replace(/\s+/g, " ") : null);
      const all = (sel) => Array.from(document.querySelectorAll(sel));
      return {
        title: document.title,
        lanes: all("[data-lane]").map((l) => l.getAttribute("aria-label")),
        bars: all(".bar").length,
        firstDivergence: text(document.getElementById("first-divergence")),
        stepTexts: all("#step-table tbody tr").map((r) => Array.from(r.cells).map(text)),
        runDeltas: all("#run-deltas tbody tr").map((r) => Array.from(r.cells).map(text)),
        answers: [text(document.getElementById("answer-a")), text(document.getElementById("answer-b"))],
        scriptsInMain: document.querySelectorAll("main script").length,
        pwned: Boolean(window.__pwned),
      };
    }));
    out.steps = await steps();
    await page.check("#only-diff");
    out.onlyDiffering = await steps();
    await page.uncheck("#only-diff");
    const bar = await page.$("[data-side='B'] .bar.tool") || await page.$("[data-side='B'] .bar");
    if (bar) {
      await bar.click();
      out.clicked = await page.evaluate(() => {
        const terms = Array.from(document.querySelectorAll("#details-list dt"));
        return Object.fromEntries(terms.map((dt) => [dt.textContent, dt.nextElementSibling.textContent]));
      });
    }
    out.pwned = out.pwned || await page.evaluate(() => Boolean(window.__pwned));
  } else if (mode === "compare") {
    const rows = () => page.evaluate(() =>
      Array.from(document.querySelectorAll("#runs tbody tr")).filter((r) => !r.hidden).map((r) => ({
        task: r.cells[0].textContent.trim(), verdict: r.dataset.status,
        tokens: r.cells[5].dataset.v, href: r.querySelector("a") && r.querySelector("a").getAttribute("href"),
      })));
    out.rows = await rows();
    out.overall = await page.evaluate(() =>
      Array.from(document.querySelectorAll("#overall-table tbody tr")).map((r) => r.cells[0].textContent.trim()));
    await page.selectOption("#status", "worse");
    out.worseOnly = await rows();
    await page.selectOption("#status", "");
    await page.fill("#filter", process.env.COMPARE_FILTER || "");
    out.filtered = await rows();
    await page.fill("#filter", "");
    await page.click("th[data-key='5'] button");
    out.byTokenChangeAscending = (await rows()).map((r) => r.task);
    out.pwned = await page.evaluate(() => Boolean(window.__pwned));
  }
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + "\n");
