// Opens an otel-bridge HTML report in the system's headless Chromium and prints what a person
// would see, as JSON on stdout: node inspect_report.mjs MODE FILE [SCREENSHOT.png] [WxH]
//
//   run    a run's page: lanes, bars, handoff arrows and edges, totals, the details of a click
//   index  an index page: rows, then rows left by a filter and the order after a sort
//   scroll frame times while scrolling the whole page (for the benchmark)
//
// Every mode also reports console errors (CSP violations included), page errors and any
// request other than the file itself: a self-contained page makes none.
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
  const started = Date.now();
  await page.goto(url, { waitUntil: "load" });
  out.loadMs = Date.now() - started;

  if (mode === "run") {
    Object.assign(out, await page.evaluate(() => {
      const text = (el) => (el ? el.textContent.trim() : null);
      const all = (sel) => Array.from(document.querySelectorAll(sel));
      const totals = {};
      for (const dd of all("[data-total]")) totals[dd.dataset.total] = dd.firstChild.textContent.trim();
      return {
        title: document.title,
        status: text(document.getElementById("run-status")),
        input: text(document.getElementById("run-input")),
        output: text(document.getElementById("run-output")),
        lanes: all("[data-lane]").map((l) => l.getAttribute("aria-label")),
        laneNames: all(".tl-name b").map(text),
        bars: {
          llm: all(".bar.llm").length, tool: all(".bar.tool").length,
          handoff: all(".bar.handoff").length, error: all(".bar.error").length,
          ttft: all(".bar .ttft").length,
        },
        arrows: all("[data-arrow]").map((a) => a.title),
        edges: all("[data-edge]").map((e) => text(e.querySelector("title"))),
        nodes: all("[data-node]").map((n) => text(n.querySelector("title"))),
        totals,
        agentRows: all("#agent-tokens tbody tr").map((r) => Array.from(r.cells).map(text)),
        modelRows: all("#model-tokens tbody tr").map((r) => Array.from(r.cells).map(text)),
        issues: all("#issues li").map(text),
        messages: all(".msg").map((m) => ({
          role: m.dataset.role,
          agent: text(m.querySelector(".chip")),
          text: m.textContent,
        })),
        scriptsInBody: all("main script").length,
        pwned: Boolean(window.__pwned),
      };
    }));
    // Click the first error bar (else the first tool bar) and read the details panel.
    const bar = (await page.$(".bar.error")) || (await page.$(".bar.tool"));
    if (bar) {
      await bar.click();
      out.clicked = await page.evaluate(() => {
        const terms = Array.from(document.querySelectorAll("#details-list dt"));
        return Object.fromEntries(terms.map((dt) => [dt.textContent, dt.nextElementSibling.textContent]));
      });
    }
    await page.click("[data-zoom=in]");
    out.zoomedWidthRatio = await page.evaluate(() =>
      document.getElementById("tl-canvas").offsetWidth / document.getElementById("tl-scroll").clientWidth);
    await page.click("[data-zoom=fit]");
  } else if (mode === "index") {
    const rows = () => page.evaluate(() =>
      Array.from(document.querySelectorAll("#runs tbody tr")).filter((r) => !r.hidden).map((r) => ({
        status: r.dataset.status, trace: r.cells[2].textContent.trim(), href: r.querySelector("a").getAttribute("href"),
        tokens: Number(r.cells[6].dataset.v),
      })));
    out.rows = await rows();
    await page.fill("#filter", process.env.REPORT_FILTER || "");
    out.filtered = await rows();
    await page.fill("#filter", "");
    await page.selectOption("#status", "error");
    out.errorsOnly = await rows();
    await page.selectOption("#status", "");
    await page.click("th[data-key='6'] button");
    out.byTokensAscending = (await rows()).map((r) => r.tokens);
    await page.click("th[data-key='6'] button");
    out.byTokensDescending = (await rows()).map((r) => r.tokens);
  } else if (mode === "scroll") {
    // Scroll the page from top to bottom, one step per animation frame (100 px, a brisk wheel;
    // more on a very long page: at most about 1,200 frames), and time the frames: a page that
    // scrolls smoothly keeps them near 16.7 ms.
    const fixedStep = Number(process.env.SCROLL_STEP || 0);
    Object.assign(out, await page.evaluate(async (fixedStep) => {
      const frames = [];
      const end = document.documentElement.scrollHeight - innerHeight;
      const step = fixedStep || Math.max(100, Math.ceil(end / 1200));
      let last = performance.now();
      for (let y = 0; y <= end; y += step) {
        window.scrollTo(0, y);
        await new Promise((resolve) => requestAnimationFrame(resolve));
        const now = performance.now();
        frames.push(now - last);
        last = now;
      }
      frames.sort((a, b) => a - b);
      const pick = (q) => frames[Math.min(frames.length - 1, Math.floor(q * frames.length))];
      return {
        frames: frames.length, step, pageHeight: end + innerHeight,
        over50ms: frames.filter((f) => f > 50).length,
        p50: pick(0.5), p95: pick(0.95), max: frames[frames.length - 1],
        domNodes: document.getElementsByTagName("*").length,
      };
    }, fixedStep));
  }
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: mode !== "scroll" });
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + "\n");
