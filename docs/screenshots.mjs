// Screenshots of a demo run in a real Phoenix and in Jaeger's own UI, taken in headless Chromium
// (playwright-core from tests/browser/node_modules, the system's /usr/bin/chromium):
//
//   docs/phoenix-trace.png         the project's agent steps and LLM calls (status, latency, tokens)
//   docs/phoenix-trace-detail.png  the run's trace: the span tree with each agent's steps
//   docs/jaeger-trace.png          the run's trace in the Jaeger UI: agents, tools, the handoff
//   docs/ui-*.png                  otel-bridge's own web UI (`ui` mode): the runs, a run, a
//                                  session, a diff, a compare, the token form
//
// Usage, from the repository root (after `cd tests/browser && npm ci`):
//
//   node docs/screenshots.mjs                      # starts Phoenix (.venv-phoenix) on loopback,
//                                                  # runs `otel-bridge demo` into it, stops it;
//                                                  # then Jaeger's, when JAEGER_UI_ASSETS is set
//   node docs/screenshots.mjs URL [PROJECT]        # a Phoenix already running, its newest run
//                                                  # of PROJECT (default otel-bridge-demo)
//   node docs/screenshots.mjs jaeger               # Jaeger's only
//   node docs/screenshots.mjs reports              # otel-bridge's own report of the same task
//                                                  # in two frameworks (below)
//   node docs/screenshots.mjs ui                   # the web UI's only: starts
//                                                  # `otel-bridge collector serve` with a token,
//                                                  # sends it tests/support/ui_runs.py's runs, stops it
//
// Jaeger's: build/bin/jaeger (bash .ci/build-binaries) serves the jaeger-ui build that
// JAEGER_UI_ASSETS points at (its packages/jaeger-ui/build directory; the UI is on no package
// registry: README.md says how to build it). Without JAEGER_UI_ASSETS that picture is skipped.
//
// The `ui` mode runs `PYTHON -m otel_bridge.cli` (PYTHON: default .venv/bin/python).
//
// Prints what the pictures show (span names of the tree) and fails when an agent is missing.
//
// `reports` runs examples/cross_framework.py (the researcher -> writer task in four frameworks,
// with the repository's Python, or PYTHON) and takes the report page of the task's second run
// (the first pays for imports) in LlamaIndex and in the OpenAI Agents SDK:
//   docs/report-llama_index.png, docs/report-openai_agents.png   at 1280 px, side by side in
//                                                                the README
// and the same pages at 800 px and the index, in a temporary directory it names, to look at.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { chromium } = createRequire(join(ROOT, "tests/browser/package.json"))("playwright-core");
const DOCS = join(ROOT, "docs");
const AGENTS = ["researcher", "writer"];
// The otel-bridge command of the repository's environment (OTEL_BRIDGE_BIN: another one).
const OTEL_BRIDGE = process.env.OTEL_BRIDGE_BIN || join(ROOT, ".venv/bin/otel-bridge");
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

async function freePort() {
  const server = createServer();
  await new Promise((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address();
  await new Promise((done) => server.close(done));
  return port;
}

async function getJson(url) {
  const answer = await fetch(url);
  return answer.ok ? answer.json() : null;
}

// Phoenix from .venv-phoenix, through the tests' launcher (its gRPC port bound to loopback too).
async function startPhoenix(workdir) {
  const [port, grpcPort] = [await freePort(), await freePort()];
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("OTEL_") && !k.startsWith("PHOENIX_")),
  );
  Object.assign(env, {
    PHOENIX_HOST: "127.0.0.1", PHOENIX_PORT: String(port), PHOENIX_GRPC_PORT: String(grpcPort),
    PHOENIX_WORKING_DIR: workdir, PHOENIX_TELEMETRY_ENABLED: "false",
    PHOENIX_DISABLE_AGENT_ASSISTANT: "true", PHOENIX_ALLOW_EXTERNAL_RESOURCES: "false",
    PHOENIX_LOG_MIGRATIONS: "false",
  });
  const python = join(ROOT, ".venv-phoenix/bin/python");
  const child = spawn(python, [join(ROOT, "tests/support/phoenix_launch.py"), "serve"], {
    cwd: workdir, env, stdio: "ignore", detached: true,
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`Phoenix exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { url, child };
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error("Phoenix did not become healthy in 120 s");
}

function stopPhoenix(child) {
  try {
    process.kill(-child.pid, "SIGTERM"); // its own process group (detached), by its pid
  } catch {
    // already gone
  }
}

// The newest run of the project: its root span's trace, once Phoenix holds all of its spans.
async function newestRun(url, project) {
  const spansUrl = `${url}/v1/projects/${encodeURIComponent(project)}/spans?limit=1000`;
  let last = -1;
  for (let i = 0; i < 100; i++) {
    const body = await getJson(spansUrl);
    const spans = body ? body.data : [];
    const roots = spans.filter((s) => s.parent_id === null);
    if (roots.length) {
      roots.sort((a, b) => b.start_time.localeCompare(a.start_time));
      const traceId = roots[0].context.trace_id;
      const count = spans.filter((s) => s.context.trace_id === traceId).length;
      if (count === last) return traceId; // stable: every exported span is stored
      last = count;
    }
    await sleep(300);
  }
  throw new Error(`no finished run in Phoenix project ${project} at ${url}`);
}

async function screenshots(url, project) {
  const traceId = await newestRun(url, project);
  const { data: info } = await getJson(`${url}/v1/projects/${encodeURIComponent(project)}`);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  try {
    // 1. The project's spans, filtered to the agent steps and the LLM calls.
    const list = await browser.newPage({ viewport: { width: 1600, height: 760 } });
    const filter = `"run_agent_step" in name or span_kind == "LLM"`;
    await list.goto(
      `${url}/projects/${info.id}/spans?spanFilterCondition=${encodeURIComponent(filter)}`,
      { waitUntil: "networkidle" },
    );
    await list.getByRole("cell", { name: /writer\.run_agent_step/ }).first().waitFor();
    // Room for latency and tokens: fold the side panel away, hide the long text columns.
    await list.getByRole("button", { name: "Hide aside panel" }).click();
    await list.getByRole("button", { name: "Columns" }).click();
    for (const column of ["input", "output", "error", "user", "annotations"]) {
      await list.getByText(column, { exact: true }).last().click(); // the menu's entry
    }
    await list.keyboard.press("Escape");
    await list.mouse.click(900, 730); // below the table: no focus ring, no hover
    await sleep(800);
    const rows = await list.locator("tbody tr").count();
    await list.screenshot({ path: join(DOCS, "phoenix-trace.png") });

    // 2. The trace: Phoenix's redirect by OpenTelemetry trace id opens it in its project.
    const detail = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
    await detail.goto(`${url}/redirects/traces/${traceId}`, { waitUntil: "networkidle" });
    await detail.getByText("writer.run_agent_step").first().waitFor();
    await sleep(500); // the tree's expand animation
    const headings = await detail.locator(".span-node__heading").allInnerTexts();
    await detail.screenshot({ path: join(DOCS, "phoenix-trace-detail.png") });

    const names = headings.map((text) => text.split("\n")[0].trim());
    console.log(JSON.stringify({ traceId, listedRows: rows, tree: names }));
    for (const agent of AGENTS) {
      if (!names.includes(`${agent}.run_agent_step`)) throw new Error(`no ${agent} in the tree`);
    }
  } finally {
    await browser.close();
  }
}

// ---- Jaeger's own UI ------------------------------------------------------------------------

const JAEGER_PORTS = [
  "JAEGER_OTLP_GRPC_PORT", "JAEGER_OTLP_HTTP_PORT", "JAEGER_QUERY_HTTP_PORT",
  "JAEGER_QUERY_GRPC_PORT", "JAEGER_HEALTH_PORT",
];

// build/bin/jaeger with the repository's config, every port free on loopback, serving the UI
// build at `assets` (a second config file, merged over the first).
async function startJaeger(workdir, assets) {
  const ports = {};
  for (const name of JAEGER_PORTS) ports[name] = String(await freePort());
  const uiConfig = join(workdir, "jaeger-ui.yaml");
  writeFileSync(uiConfig, `extensions:\n  jaeger_query:\n    ui:\n      assets_path: ${JSON.stringify(assets)}\n`);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("OTEL_")));
  Object.assign(env, ports, { JAEGER_LOG_LEVEL: "warn" });
  const child = spawn(
    join(ROOT, "build/bin/jaeger"),
    ["--config", join(ROOT, "collector/jaeger-config.yaml"), "--config", uiConfig],
    { cwd: workdir, env, stdio: "ignore", detached: true },
  );
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`Jaeger exited with ${child.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${ports.JAEGER_HEALTH_PORT}/status`)).ok) {
        return {
          child,
          otlp: `http://127.0.0.1:${ports.JAEGER_OTLP_HTTP_PORT}`,
          query: `http://127.0.0.1:${ports.JAEGER_QUERY_HTTP_PORT}`,
        };
      }
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error("Jaeger did not become healthy in 60 s");
}

// The demo's trace once Jaeger holds all of its spans (the count stops changing).
async function jaegerRun(query, traceId) {
  let last = -1;
  for (let i = 0; i < 100; i++) {
    const body = await getJson(`${query}/api/traces/${traceId}`).catch(() => null);
    const spans = body && body.data && body.data.length ? body.data[0].spans : [];
    if (spans.length && spans.length === last) return spans;
    last = spans.length;
    await sleep(300);
  }
  throw new Error(`trace ${traceId} did not arrive in Jaeger at ${query}`);
}

async function jaegerScreenshot() {
  const assets = process.env.JAEGER_UI_ASSETS;
  if (!assets) {
    console.log("JAEGER_UI_ASSETS is not set: no Jaeger UI screenshot (README.md: building it)");
    return;
  }
  if (!existsSync(join(assets, "index.html"))) throw new Error(`no index.html in ${assets}`);
  const workdir = mkdtempSync(join(tmpdir(), "jaeger-screenshots-"));
  const { child, otlp, query } = await startJaeger(workdir, resolve(assets));
  try {
    const out = join(workdir, "run.otlp.json");
    const demo = spawnSync(
      OTEL_BRIDGE,
      ["demo", "--otlp-endpoint", otlp, "--out", out],
      { cwd: workdir, stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, OPENAI_API_KEY: "" } },
    );
    if (demo.status !== 0) throw new Error(`otel-bridge demo failed (${demo.status})`);
    const listed = spawnSync(OTEL_BRIDGE, ["traces", out, "--json"], { encoding: "utf8" });
    const traceId = JSON.parse(listed.stdout.split("\n")[0]).trace_id;
    const spans = await jaegerRun(query, traceId);
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      await page.goto(`${query}/trace/${traceId}`, { waitUntil: "networkidle" });
      await page.getByText("researcher.handoff → writer").first().waitFor({ timeout: 30000 });
      // Widen the tree's name column (its divider is dragged), so every operation name is whole.
      const divider = page.locator(".VerticalResizer--dragger").first();
      const at = await divider.boundingBox();
      if (at) {
        await page.mouse.move(at.x + at.width / 2, at.y + 10);
        await page.mouse.down();
        await page.mouse.move(at.x + 260, at.y + 10, { steps: 10 });
        await page.mouse.up();
      }
      await page.mouse.move(700, 40); // over the top bar: no row highlighted, no tooltip
      await sleep(500);
      await page.screenshot({ path: join(DOCS, "jaeger-trace.png") });
    } finally {
      await browser.close();
    }
    const names = spans.sort((a, b) => a.startTime - b.startTime).map((s) => s.operationName);
    console.log(JSON.stringify({ jaeger: query, traceId, tree: names }));
    for (const name of ["researcher.search", "researcher.handoff → writer", "writer.word_count"]) {
      if (!names.includes(name)) throw new Error(`no ${name} in Jaeger's tree`);
    }
  } finally {
    try {
      process.kill(-child.pid, "SIGTERM"); // its own process group (detached), by its pid
    } catch {
      // already gone
    }
    rmSync(workdir, { recursive: true, force: true });
  }
}

// ---- otel-bridge's own report, one task in two frameworks ------------------------------------

const REPORT_FRAMEWORKS = ["llama_index", "openai_agents"];

async function reportScreenshots() {
  const workdir = mkdtempSync(join(tmpdir(), "report-screenshots-"));
  const python = process.env.PYTHON || join(ROOT, ".venv/bin/python");
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("OTEL_")));
  Object.assign(env, { PYTHONPATH: ROOT, OPENAI_API_KEY: "" });
  const out = join(workdir, "out");
  const run = spawnSync(
    python,
    [join(ROOT, "examples/cross_framework.py"), "--out", out, "--repetitions", "2"],
    { cwd: workdir, env, stdio: ["ignore", "inherit", "inherit"] },
  );
  if (run.status !== 0) throw new Error(`examples/cross_framework.py failed (${run.status})`);
  const index = `file://${join(out, "report", "index.html")}`;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  const seen = {};
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 700 } });
    await page.goto(index);
    await page.screenshot({ path: join(workdir, "index-1280.png") });
    for (const framework of REPORT_FRAMEWORKS) {
      const row = page.locator(`tr[data-task="brief-${framework}"][data-repetition="1"]`);
      const href = await row.locator("td.start a").getAttribute("href");
      const url = `file://${join(out, "report", href)}`;
      for (const [width, height] of [[1280, 1180], [800, 1500]]) {
        const shot = await browser.newPage({ viewport: { width, height } });
        await shot.goto(url);
        const lanes = await shot.locator(".tl-name b").allInnerTexts();
        const scroller = shot.locator("#tl-scroll");
        const sideways = await scroller.evaluate((el) => el.scrollWidth > el.clientWidth);
        const handoffBars = await shot.locator(".bar.handoff").count();
        seen[`${framework}@${width}`] = { lanes, handoffBars, sideways };
        const path = width === 1280
          ? join(DOCS, `report-${framework}.png`)
          : join(workdir, `report-${framework}-${width}.png`);
        await shot.screenshot({ path });
        if (lanes.join() !== "researcher,writer") throw new Error(`${framework}: lanes ${lanes}`);
        if (handoffBars !== 1) throw new Error(`${framework}: ${handoffBars} handoff bars`);
        if (sideways) throw new Error(`${framework} at ${width} px: the timeline scrolls sideways`);
        await shot.close();
      }
    }
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify({ report: join(out, "report"), pictures: workdir, seen }));
}

// ---- otel-bridge's own web UI --------------------------------------------------------------

const PYTHON = process.env.PYTHON || join(ROOT, ".venv/bin/python");
const UI_TOKEN = "screenshots-token";

// `otel-bridge collector serve` on a free loopback port with a token; its URL from its first line.
async function startCollector(workdir) {
  const child = spawn(PYTHON, [
    "-m", "otel_bridge.cli", "collector", "serve", "--db", join(workdir, "spans.db"),
    "--http-port", "0", "--grpc-port", "0", "--token", UI_TOKEN,
  ], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"], detached: true });
  let said = "";
  const url = await new Promise((done, fail) => {
    child.stderr.on("data", (chunk) => {
      said += chunk;
      const found = said.match(/query API (http:\/\/127\.0\.0\.1:\d+)/);
      if (found) done(found[1]);
    });
    child.on("exit", (code) => fail(new Error(`the collector exited with ${code}: ${said}`)));
  });
  return { child, url };
}

async function uiScreenshots() {
  const workdir = mkdtempSync(join(tmpdir(), "ui-screenshots-"));
  const { child, url } = await startCollector(workdir);
  try {
    const sent = spawnSync(PYTHON, [join(ROOT, "tests/support/ui_runs.py"), url, UI_TOKEN],
      { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    if (sent.status !== 0) throw new Error(`tests/support/ui_runs.py failed (${sent.status})`);
    const runs = JSON.parse(sent.stdout.trim().split("\n").pop());
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const shot = async (name, height = 800) => {
        await page.mouse.move(1270, 790); // no row under the pointer
        await sleep(300);
        await page.screenshot({ path: join(DOCS, `ui-${name}.png`), clip: { x: 0, y: 0, width: 1280, height } });
      };
      const settled = (path) => page.frames().find((f) => new URL(f.url(), url).pathname === path);
      const frame = async (path, selector) => {
        for (let i = 0; i < 300 && !settled(path); i++) await sleep(100);
        await settled(path).waitForSelector(selector);
      };
      await page.goto(`${url}/login?next=%2F`);
      await shot("login", 340); // the form, not the empty page below it
      await page.fill("#token", UI_TOKEN);
      await Promise.all([page.waitForURL(`${url}/`), page.click("button[type=submit]")]);
      const total = 3 + 3 + runs.turns.length;
      await page.waitForFunction((n) => {
        const rows = Array.from(document.querySelectorAll(".layer .row"));
        return rows.length === n && rows.every((r) => r.querySelector(".c-tokens").textContent !== "–"
          && r.dataset.status !== "open") // derived and ended
          && document.querySelector(".live-status").dataset.state === "live";
      }, total, { timeout: 60000 });
      await page.check(`[data-trace-id="${runs.v1["brief-traces"]}"] input`);
      await page.check(`[data-trace-id="${runs.v2["brief-traces"]}"] input`);
      await shot("runs");
      await page.goto(`${url}/runs/${runs.v2["brief-traces"]}`);
      await frame(`/api/traces/${runs.v2["brief-traces"]}/report`, "h1");
      await shot("run");
      await page.goto(`${url}/sessions/${encodeURIComponent(runs.session)}`);
      await page.waitForSelector(".session-page .facts");
      await shot("session");
      await page.goto(`${url}/diff?a=${runs.v1["brief-traces"]}&b=${runs.v2["brief-traces"]}`);
      await frame("/api/diff", "#first-divergence");
      await shot("diff");
      const compare = new URLSearchParams({ a: "q=brief-v1", b: "q=brief-v2" });
      await page.goto(`${url}/compare?${compare}`);
      await frame("/api/compare", "table");
      await shot("compare");
      console.log(JSON.stringify({ ui: url, ...runs }));
    } finally {
      await browser.close();
    }
  } finally {
    try {
      process.kill(-child.pid, "SIGTERM"); // its own process group (detached), by its pid
    } catch {
      // already gone
    }
    rmSync(workdir, { recursive: true, force: true });
  }
}

const [given, project = "otel-bridge-demo"] = process.argv.slice(2);
if (given === "ui") {
  await uiScreenshots();
} else if (given === "jaeger") {
  await jaegerScreenshot();
} else if (given === "reports") {
  await reportScreenshots();
} else if (given) {
  await screenshots(given.replace(/\/$/, ""), project);
} else {
  const workdir = mkdtempSync(join(tmpdir(), "phoenix-screenshots-"));
  const { url, child } = await startPhoenix(workdir);
  try {
    const demo = spawnSync(
      OTEL_BRIDGE,
      ["demo", "--otlp-endpoint", url, "--project", project, "--out", join(workdir, "run.otlp.json")],
      { cwd: workdir, stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, OPENAI_API_KEY: "" } },
    );
    if (demo.status !== 0) throw new Error(`otel-bridge demo failed (${demo.status})`);
    await screenshots(url, project);
  } finally {
    stopPhoenix(child);
    rmSync(workdir, { recursive: true, force: true });
  }
  await jaegerScreenshot();
}
