// The runs page of a collector holding many runs, in headless Chromium, for the benchmark:
//
//   node scroll_runs.mjs BASE_URL [FRAMES] [STEP_PX]
//
// Prints JSON: ms to the first rows, ms to load every run (scrolling to the end until the
// list has no older page), then the frame times of FRAMES animation frames that each scroll
// the list by STEP_PX from the top, the most rows and DOM nodes the page held meanwhile.
import { chromium } from "playwright-core";

const [base, frames = "600", step = "360"] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const out = { consoleErrors: [], pageErrors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("console", (m) => { if (m.type() === "error") out.consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => out.pageErrors.push(String(e)));
  let started = Date.now();
  await page.goto(`${base}/`);
  await page.waitForSelector(".layer .row");
  out.firstRowsMs = Date.now() - started;

  started = Date.now();
  await page.waitForFunction(() => {
    const scroller = document.querySelector(".scroller");
    scroller.scrollTop = scroller.scrollHeight;
    return document.querySelector(".list-footer").textContent === "";
  }, null, { polling: 50, timeout: 600000 });
  out.allLoadedMs = Date.now() - started;
  out.runs = Number(await page.getAttribute(".counts", "data-runs"));

  Object.assign(out, await page.evaluate(([n, px]) => new Promise((done) => {
    const scroller = document.querySelector(".scroller");
    scroller.scrollTop = 0;
    const gaps = [];
    let maxRows = 0;
    let maxNodes = 0;
    let last = null;
    const frame = (t) => {
      if (last !== null) gaps.push(t - last);
      last = t;
      maxRows = Math.max(maxRows, document.querySelectorAll(".layer .row").length);
      maxNodes = Math.max(maxNodes, document.getElementsByTagName("*").length);
      if (gaps.length >= n) {
        gaps.sort((a, b) => a - b);
        const at = (q) => gaps[Math.min(gaps.length - 1, Math.floor(gaps.length * q))];
        done({ frames: gaps.length, p50: at(0.5), p95: at(0.95), max: gaps[gaps.length - 1],
          over50: gaps.filter((g) => g > 50).length, maxRows, maxNodes,
          scrolledPx: scroller.scrollTop });
        return;
      }
      scroller.scrollTop += px;
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }), [Number(frames), Number(step)]));
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + "\n");
