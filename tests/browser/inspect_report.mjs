// Opens an otel-bridge HTML report in the system's headless Chromium and prints what a person
// would see, as JSON on stdout: node inspect_report.mjs MODE FILE [SCREENSHOT.png] [WxH]
//
//   run    a run's page: lanes, bars, handoff and delegation arrows and edges, totals, labels,
//          the details of a click; and its layout: the narrowest bar, what covers a bar, what
//          scrolls sideways, what each legend item finds
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
        delegationArrows: all("[data-delegation-arrow]").map((a) => ({
          title: a.title, mark: text(a.querySelector("span")), down: a.classList.contains("down"),
          style: getComputedStyle(a).borderLeftStyle,
        })),
        delegationList: all("ol.delegations li").map(text),
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
        labels: Object.fromEntries(all("#run-labels [data-label]").map((d) => [d.dataset.label, text(d.querySelector("dd"))])),
        lead: text(document.querySelector("#lead span")),
        leadKey: text(document.querySelector(".legend > [data-find=lead]")),
      };
    }));
    out.layout = await page.evaluate(() => {
      const all = (sel) => Array.from(document.querySelectorAll(sel));
      const box = (el) => el.getBoundingClientRect();
      const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 &&
        Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5;
      const bars = all(".bar").map(box);
      const agentTable = document.getElementById("agent-tokens");
      const lastHeader = agentTable ? agentTable.tHead.rows[0].lastElementChild : null;
      return {
        narrowestBar: Math.min(...bars.map((b) => b.width)),
        badgesOnBars: all(".arrow span").filter((s) => bars.some((b) => overlap(box(s), b))).length,
        marksOnBars: all(".ttft").filter((t) => bars.some((b) => overlap(box(t), b))).length,
        tablesScrollSideways: all(".scroll-x").filter((d) => d.scrollWidth > d.clientWidth + 1).length,
        pageScrollsSideways: document.documentElement.scrollWidth > innerWidth + 1,
        lastAgentColumn: lastHeader ? lastHeader.textContent.trim() : null,
        lastAgentColumnVisible: lastHeader ? box(lastHeader).right <= innerWidth : null,
        leadWidth: document.getElementById("lead") ? box(document.getElementById("lead")).width : 0,
      };
    });
    // Each legend item, clicked, points at what it names: the elements it shows, opaque.
    out.legend = {};
    for (const key of await page.$$(".legend > [data-find]")) {
      const what = await key.getAttribute("data-find");
      await key.click();
      out.legend[what] = await page.evaluate((what) => {
        const selector = { llm: ".bar.llm", tool: ".bar.tool", handoff: ".bar.handoff", error: ".bar.error",
          ttft: ".ttft", arrow: ".arrow:not(.delegation)", delegation: ".arrow.delegation",
          lead: ".lead" }[what];
        const canvas = document.getElementById("tl-canvas");
        const shown = Array.from(canvas.querySelectorAll(selector)).filter((el) => {
          const r = el.getBoundingClientRect();
          const faded = Number(getComputedStyle(el.closest(".bar, .arrow, .lead")).opacity) < 0.5;
          return r.width >= 2 && r.height >= 2 && !faded;
        });
        return { finding: canvas.dataset.finding || null, shown: shown.length };
      }, what);
      await key.click();
    }
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
        status: r.dataset.status, trace: r.querySelector("td.id").textContent.trim(), href: r.querySelector("a").getAttribute("href"),
        tokens: Number(r.querySelector("td.tokens").dataset.v),
        labels: Object.fromEntries(["task", "repetition", "session"].filter((k) => r.dataset[k] !== undefined).map((k) => [k, r.dataset[k]])),
      })));
    out.rows = await rows();
    await page.fill("#filter", process.env.REPORT_FILTER || "");
    out.filtered = await rows();
    await page.fill("#filter", "");
    await page.selectOption("#status", "error");
    out.errorsOnly = await rows();
    await page.selectOption("#status", "");
    // Each label's filter, set to its first value, then back to any.
    out.byLabel = {};
    for (const select of await page.$$("select[data-filter]")) {
      const name = await select.getAttribute("data-filter");
      const values = await select.$$eval("option", (options) => options.map((o) => o.value).filter(Boolean));
      await select.selectOption(values[0]);
      out.byLabel[name] = { values, first: (await rows()).map((r) => r.trace) };
      await select.selectOption("");
    }
    out.layout = await page.evaluate(() => ({
      pageScrollsSideways: document.documentElement.scrollWidth > innerWidth + 1,
      tableScrollsSideways: Array.from(document.querySelectorAll(".scroll-x"))
        .some((d) => d.scrollWidth > d.clientWidth + 1),
    }));
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
