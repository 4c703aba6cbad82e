"""The collector's web UI in the system's headless Chromium, while runs arrive.

A real ``otel-bridge collector serve`` with a token; the MASEval benchmark example
(examples/maseval_benchmark.py) exports its three runs to it over OTLP/HTTP, twice (services
``brief-v1`` and ``brief-v2``), and two LlamaIndex runs of one session carry HTML and scripts in
their names and contents. The driver
(``tests/browser/inspect_ui.mjs``, playwright-core on ``/usr/bin/chromium``) watches the runs page
while they arrive: the token form keeps it out until the right token, rows appear without a
reload with the runs' tokens, a run's page shows its report, its session lists its runs oldest
first, back goes back, two ticked runs open their diff, two filter sets their compare, a restart
of the collector is reconnected to, an unknown id is a page that says so. Nothing is requested
from another host, no console error, the scripts in the data never run. Screenshots
(``ui-*.png``) are kept in ``$OTEL_BRIDGE_ARTIFACTS`` (default ``build/test-artifacts``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from llama_index.core.agent.workflow import FunctionAgent
from support.collector_fixtures import serve_collector
from support.paths import BROWSER, ROOT

from otel_bridge import Telemetry
from otel_bridge.scripted import Reply, ScriptedLLMServer, ToolCallSpec, Usage, scripted_openai_llm

DRIVER = BROWSER / "inspect_ui.mjs"
EXAMPLE = ROOT / "examples" / "maseval_benchmark.py"
CHROMIUM = "/usr/bin/chromium"
TOKEN = "ui-test-token-4f1c"
PAYLOAD = '<script>window.__pwned = true</script><img src="x" onerror="window.__pwned = true">'
SESSION = 'chat-<img src=x onerror="window.__pwned = true">'  # no "/": one path segment
# Odd Unicode (a right-to-left override, a combining accent, an emoji) and a long tail.
RUN_NAME = f"reply {PAYLOAD} \u202eodd\u202c e\u0301 \U0001f9ea " + " ".join(["long"] * 300)
# Tokens of each task of the example, from its scripted server's usage.
TASK_TOKENS = {"brief-handoffs": "1,735", "brief-tokens": "1,731", "brief-traces": "1,727"}


def render_snippet(topic: str) -> str:
    """Return an HTML snippet about a topic."""
    return f"{PAYLOAD} about {topic}"


def browser_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed (apt-get install nodejs npm)"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if not (DRIVER.parent / "node_modules" / "playwright-core").is_dir():
        return "playwright-core is not installed: cd tests/browser && npm ci"
    return None


class Driver:
    """The browser driver as a child process, spoken to one JSON line at a time."""

    def __init__(self, url: str, shots: Path) -> None:
        self.process = subprocess.Popen(
            ["node", str(DRIVER), url, TOKEN, str(shots)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def hear(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(30)
            assert self.process.stderr is not None
            raise AssertionError(f"the browser driver stopped: {self.process.stderr.read()}")
        message = dict(json.loads(line))
        if message.get("stage") == "failed":  # the driver's own words, and what it had seen
            error = message.pop("error")
            raise AssertionError(f"in the browser, at {message['failedAt']}: {error}\n{message}")
        return message

    def say(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(30)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


class Served:
    """``otel-bridge collector serve`` with the token, restartable on the same port."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.process, self.url, _ = serve_collector(db, "--token", TOKEN)

    def restart(self) -> None:
        port = urlsplit(self.url).port
        self.stop()
        self.process, url, _ = serve_collector(self.db, "--token", TOKEN, "--http-port", str(port))
        assert url == self.url

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:  # never left running, even when it fails to stop
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(30)
            raise
        assert self.process.stderr is not None
        self.process.stderr.close()


def run_benchmark(url: str, service: str) -> dict[str, str]:
    """The example run as a person would, exporting to the collector: task id -> trace id."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        OTEL_EXPORTER_OTLP_ENDPOINT=url,
        OTEL_EXPORTER_OTLP_HEADERS=f"authorization=Bearer%20{TOKEN}",
        OTEL_SERVICE_NAME=service,
    )
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    return {row["task_id"]: row["trace_ids"][0] for row in rows}


async def payload_run(llm: ScriptedLLMServer, url: str, topic: str) -> str:
    """A LlamaIndex run whose names and contents hold HTML and scripts; its trace id once the
    collector acknowledged its spans."""
    llm.set_script(
        [
            Reply(
                tool_calls=[ToolCallSpec("render_snippet", {"topic": topic})], usage=Usage(50, 5)
            ),
            Reply(content=f"Done: {PAYLOAD}", usage=Usage(80, 6)),
        ]
    )
    agent = FunctionAgent(
        name="<b>writer</b>",
        tools=[render_snippet],
        llm=scripted_openai_llm(llm, include_usage=True),
    )
    telemetry = Telemetry(
        otlp_endpoint=url, headers={"authorization": f"Bearer {TOKEN}"}, service_name="ui-tests"
    )
    try:
        with telemetry.start_run(RUN_NAME, {"session.id": SESSION}) as root:
            await agent.run(user_msg=f"Write about {topic}.")
    finally:
        telemetry.shutdown()  # every span sent and acknowledged
    assert telemetry.export_errors() == {}
    return f"{root.get_span_context().trace_id:032x}"


async def recorded_run(llm: ScriptedLLMServer, path: Path) -> str:
    """A LlamaIndex run's spans written to an OTLP/JSON file (not sent); its trace id."""
    llm.set_script([Reply(content="Noted.", usage=Usage(40, 4))])
    agent = FunctionAgent(
        name="note-taker", tools=[], llm=scripted_openai_llm(llm, include_usage=True)
    )
    telemetry = Telemetry(otlp_json_file=path, service_name="ui-tests")
    try:
        with telemetry.start_run("a run sent in two parts") as root:
            await agent.run(user_msg="Take a note.")
    finally:
        telemetry.shutdown()
    return f"{root.get_span_context().trace_id:032x}"


def send_part(url: str, path: Path, roots: bool) -> None:
    """POST the file's spans to the collector: its root spans only, or every other span."""
    resource_spans = []
    for line in path.read_text().splitlines():
        for rs in json.loads(line)["resourceSpans"]:
            scopes = [
                {**ss, "spans": [s for s in ss["spans"] if (not s.get("parentSpanId")) == roots]}
                for ss in rs["scopeSpans"]
            ]
            resource_spans.append({**rs, "scopeSpans": [ss for ss in scopes if ss["spans"]]})
    request = urllib.request.Request(
        f"{url}/v1/traces",
        json.dumps({"resourceSpans": resource_spans}).encode(),
        {"content-type": "application/json", "authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200


def now_ms() -> float:
    return time.time() * 1000


async def test_ui_watches_a_benchmark_live(llm: ScriptedLLMServer, tmp_path: Path) -> None:
    missing = browser_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)  # CI installs the browser and the driver: missing is a CI bug
        pytest.skip(missing)
    shots = Path(os.environ.get("OTEL_BRIDGE_ARTIFACTS", ROOT / "build" / "test-artifacts"))
    shots.mkdir(parents=True, exist_ok=True)
    served = Served(tmp_path / "spans.db")
    driver = Driver(served.url, shots)
    try:
        assert driver.hear() == {"stage": "ready"}
        sent = {}
        tasks = run_benchmark(served.url, "brief-v1")
        sent.update(dict.fromkeys(tasks.values(), now_ms()))
        again = run_benchmark(served.url, "brief-v2")
        sent.update(dict.fromkeys(again.values(), now_ms()))
        payload = []
        for topic in ("tracing", "metrics"):
            payload.append(await payload_run(llm, served.url, topic))
            sent[payload[-1]] = now_ms()
        driver.say(
            {
                "runs": sent,
                "payload": payload,
                "diff": [tasks["brief-traces"], tasks["brief-tokens"]],
                "compare": [["q", "brief-v1"], ["q", "brief-v2"]],
            }
        )
        assert driver.hear() == {"stage": "restart"}
        served.restart()
        late = await payload_run(llm, served.url, "logs")
        driver.say({"runs": {late: now_ms()}})
        assert driver.hear() == {"stage": "grow"}
        parts = tmp_path / "parts.otlp.json"
        grow = await recorded_run(llm, parts)
        send_part(served.url, parts, roots=False)
        driver.say({"grow": grow})
        assert driver.hear() == {"stage": "grown"}
        send_part(served.url, parts, roots=True)
        driver.say({})
        seen = driver.hear()
    finally:
        driver.close()
        served.stop()

    # The token form: asked for, a wrong token said in words, the right one opens the page.
    login = seen["login"]
    assert urlsplit(login["redirectedTo"]).path == "/login"
    assert parse_qs(urlsplit(login["redirectedTo"]).query)["next"] == ["/?status=ok"]
    assert login["shownBefore"] is False
    assert login["failedText"] == "That token is not the collector's token."
    assert login["afterRight"] == "/?status=ok"
    assert seen["empty"].startswith(f"No runs yet. Send spans to {served.url}/v1/traces")

    # The runs appeared while the page stayed open, with their figures.
    runs = seen["runs"]
    assert runs["marker"] is True  # never reloaded
    assert runs["runs"] == 8 and runs["counts"] == "8 runs · 0 with errors · 0 open"
    assert runs["rowHeights"] == [36]  # a long name is cut on its line, not wrapped
    assert {r["id"] for r in runs["rows"]} == set(sent)
    by_id = {r["id"]: r for r in runs["rows"]}
    for benchmark in (tasks, again):
        assert {task: by_id[i]["cells"]["tokens"] for task, i in benchmark.items()} == TASK_TOKENS
        assert {by_id[i]["cells"]["task"] for i in benchmark.values()} == set(TASK_TOKENS)
        assert {by_id[i]["cells"]["agents"] for i in benchmark.values()} == {"researcher, writer"}
    for trace_id in payload:
        cells = by_id[trace_id]["cells"]
        assert (cells["run"], cells["agents"], cells["tokens"]) == (
            RUN_NAME,
            "<b>writer</b>",
            "141",
        )
        assert cells["session"] == SESSION
    print("rows appeared after (ms):", seen["appearedAfterMs"])

    # A run's page, its session, back twice.
    run = seen["run"]
    assert run["title"] == RUN_NAME and run["state"] == "ended"
    assert (run["facts"]["Session"], run["facts"]["Tokens"]) == (SESSION, "141")
    assert run["report"]["h1"]  # the report's page is in the frame
    session = seen["session"]
    assert session["title"] == f"Session {SESSION}"
    assert session["rows"] == payload  # oldest first
    assert (session["facts"]["Runs"], session["facts"]["Tokens"]) == ("2", "282")
    assert seen["backTo"] == [f"/runs/{payload[0]}", "/"]

    # The diff of two ticked runs, the compare of two filter sets (reloaded: still there).
    a, b = tasks["brief-traces"], tasks["brief-tokens"]
    assert seen["diff"]["url"] == f"/diff?a={a}&b={b}"
    assert seen["diff"]["firstDivergence"].startswith("First divergence: step 1")
    assert {r["id"] for r in seen["filtered"]["rows"]} == set(tasks.values())
    assert seen["filtered"]["url"] == "/?q=brief-v1"
    assert seen["compare"]["url"] == "/compare?a=q%3Dbrief-v1&b=q%3Dbrief-v2"
    assert seen["compare"]["sides"] == "Aq = brief-v1Bq = brief-v2"

    # The restart: "reconnecting…", then live again, the next run in the list, no reload.
    assert "reconnecting…" in seen["statuses"] and seen["statuses"][-1] == "live"
    assert seen["afterRestart"]["marker"] is True
    assert seen["afterRestart"]["runs"] == 9
    assert seen["unknown"] == {"text": f"No run has the trace id {'0' * 32}.", "back": "/"}

    # A run without its root span yet: "in progress", then its root arrives: ended, reloaded.
    grown = seen["grow"]
    assert grown["before"]["state"] == "in progress: the report grows as spans arrive"
    assert grown["after"]["state"] == "ended" and grown["after"]["marker"] is True
    assert int(grown["after"]["spans"]) == int(grown["before"]["spans"]) + 1
    assert grown["reports"] >= 2  # the report was loaded, then loaded again

    # Nothing from elsewhere, no error, no script of the data ran.
    assert seen["foreignRequests"] == []
    expected_network = ("restart", "unknown")  # the collector gone a moment; the 404 asked for
    assert [e for e in seen["consoleErrors"] if e["stage"] not in expected_network] == []
    assert seen["pageErrors"] == []
    assert not any(
        view["pwned"] for view in (runs, run, run["report"], session, seen["afterRestart"])
    )
