"""Web UI: the runs page of a collector holding 10,000 runs, in headless Chromium.

Run: ``python benchmarks/bench_ui_scroll.py [--runs N] [--write]``. With ``--write`` the table
replaces the "ui-scroll" section of benchmarks/README.md.

``otel-bridge collector serve`` (no token) receives N runs over OTLP/JSON, each a root span and
an LLM call with its token counts, a second apart, and derives them. The runs page is opened in
headless Chromium (the playwright-core driver ``tests/browser/scroll_runs.mjs``): the time to
its first rows, the time to load every run by scrolling to the end (pages of 200 from
``/api/traces``), then 600 animation frames each scrolling the list by 360 px (ten rows), with
the frame times and the most rows and DOM nodes the page held.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from results import write_section

HERE = Path(__file__).resolve().parent
DRIVER = HERE.parent / "tests" / "browser" / "scroll_runs.mjs"
BATCH = 500  # runs per OTLP request


def attribute(key: str, value: str | int) -> dict[str, Any]:
    kind = "intValue" if isinstance(value, int) else "stringValue"
    return {"key": key, "value": {kind: str(value) if kind == "intValue" else value}}


def runs_request(first: int, count: int, origin_ns: int) -> bytes:
    """OTLP/JSON of ``count`` runs: a root span and one LLM call each, a second apart."""
    spans = []
    for i in range(first, first + count):
        trace_id, start = f"{i + 1:032x}", origin_ns + i * 1_000_000_000
        root = f"{i + 1:016x}"
        spans.append(
            {
                "traceId": trace_id, "spanId": root, "name": f"run {i:05d}", "kind": 1,
                "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 800_000_000),
                "attributes": [attribute("session.id", f"session-{i // 5:04d}")],
            }
        )  # fmt: skip
        spans.append(
            {
                "traceId": trace_id, "spanId": f"{i + 1:015x}f", "parentSpanId": root,
                "name": "OpenAI.chat", "kind": 1, "startTimeUnixNano": str(start + 100_000_000),
                "endTimeUnixNano": str(start + 700_000_000),
                "attributes": [
                    attribute("openinference.span.kind", "LLM"),
                    attribute("llm.model_name", "gpt-4o-mini"),
                    attribute("llm.token_count.prompt", 300 + i % 50),
                    attribute("llm.token_count.completion", 20),
                    attribute("llm.token_count.total", 320 + i % 50),
                ],
            }
        )  # fmt: skip
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [attribute("service.name", "bench-ui")]},
                "scopeSpans": [{"spans": spans}],
            }
        ]
    }
    return json.dumps(body).encode()


def serve(db: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable, "-m", "otel_bridge.cli", "collector", "serve", "--db", str(db),
            "--http-port", "0", "--grpc-port", "0",
        ],
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert process.stderr is not None
    process.stderr.readline()  # "otel-bridge collector ready (...)", then a line per endpoint
    found = re.search(r"query API +(http://127\.0\.0\.1:\d+)", process.stderr.readline())
    if found is None:
        process.kill()
        raise SystemExit("the collector did not start")
    return process, found.group(1)


def measure(runs: int) -> dict[str, Any]:
    """Fill a collector with ``runs`` runs and measure its runs page."""
    with tempfile.TemporaryDirectory() as work:
        process, url = serve(Path(work) / "spans.db")
        try:
            origin = time.time_ns() - runs * 1_000_000_000
            for first in range(0, runs, BATCH):
                request = urllib.request.Request(
                    f"{url}/v1/traces",
                    runs_request(first, min(BATCH, runs - first), origin),
                    {"content-type": "application/json"},
                )
                urllib.request.urlopen(request, timeout=60).read()
            done = subprocess.run(
                ["node", str(DRIVER), url], capture_output=True, text=True, timeout=900, check=True
            )
            seen = dict(json.loads(done.stdout))
            seen["load"] = os.getloadavg()[0]
            return seen
        finally:
            os.kill(process.pid, signal.SIGTERM)
            process.wait(30)
            assert process.stderr is not None
            process.stderr.close()


def table(runs: int, seen: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"{runs:,} runs in the collector, the runs page at 1280x900 in headless Chromium "
            "(software rendering, 2 shared cores, load average "
            f"{seen['load']:.1f} when measured); 600 frames scrolling 360 px each.",
            "",
            "| first rows | every run loaded | frame ms p50 / p95 / max | frames > 50 ms "
            "| rows in the DOM (most) | DOM nodes (most) |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {seen['firstRowsMs'] / 1000:.2f} s | {seen['allLoadedMs'] / 1000:.1f} s "
            f"({seen['runs']:,} runs) | {seen['p50']:.1f} / {seen['p95']:.1f} / {seen['max']:.1f} "
            f"| {seen['over50']} | {seen['maxRows']} | {seen['maxNodes']} |",
            "",
            "Target: 10,000 runs stay smooth: the list is windowed (only the rows in view and a "
            "few around them are in the DOM), so the rows and nodes stay the same however many "
            "runs are loaded.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--write", action="store_true", help="update benchmarks/README.md")
    args = parser.parse_args()
    if shutil.which("node") is None or not (DRIVER.parent / "node_modules").is_dir():
        raise SystemExit("needs node and tests/browser/node_modules (cd tests/browser && npm ci)")
    seen = measure(args.runs)
    if seen["consoleErrors"] or seen["pageErrors"]:
        raise SystemExit(f"the page had errors: {seen}")
    text = table(args.runs, seen)
    print(text)
    if args.write:
        heading = "## Web UI: 10,000 runs (`python benchmarks/bench_ui_scroll.py --write`)"
        write_section("ui-scroll", f"{heading}\n\n{text}")


if __name__ == "__main__":
    main()
