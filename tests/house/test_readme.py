"""README.md's runnable examples run as written, and its commands are the project's own.

A Python block is run when the line before its fence is ``<!-- runnable -->``: each in a fresh
interpreter, in an empty directory, offline (the scripted model serves it).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from support.paths import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
RUNNABLE = re.compile(r"<!-- runnable -->\n```python\n(.*?)\n```", re.S)
BLOCKS = RUNNABLE.findall(README)
# The tools that judge the code (with pytest and its plugins): pinned in constraints-dev.txt.
DEV_TOOLS = {"ruff", "mypy", "hypothesis", "check-jsonschema"}


def test_the_readme_has_runnable_examples() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_a_runnable_block_runs(code: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip(), "a runnable example shows its result"


def test_the_first_example_prints_what_a_person_reads(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCKS[0]], cwd=tmp_path, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # the scripted usage: 2,363 tokens, the writer 1,365; cost $0.000343 (not 0.000342600)
    assert done.stdout.splitlines()[1:] == [
        "2,363 tokens, 1,365 of them the writer's",
        "handoffs: [('researcher', 'writer', 'The research notes are ready.')]",
        "cost $0.000343, 10 messages",
    ]


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    command = re.search(r"Run the tests:\n\n```sh\n(.+?)\n```", README)
    assert command is not None
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").rstrip().splitlines()
    assert ci[-1] == command.group(1)


def test_the_readmes_install_command_installs_this_project() -> None:
    command = re.search(r"```sh\n(python3 -m venv .+?)\n```", README)
    assert command is not None
    assert "pip install -c constraints-dev.txt -e '.[dev]'" in command.group(1)
    assert command.group(1).endswith("otel-bridge demo")


def test_ci_and_the_readme_install_the_pinned_dev_tools() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install --quiet -c constraints-dev.txt -e '.[dev]'" in ci
    pins = dict(
        line.split("==")
        for line in (ROOT / "constraints-dev.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]["dev"]
    names = {re.split(r"[<>=\[ ]", spec)[0] for spec in dev}
    tools = {n for n in names if n.startswith("pytest") or n in DEV_TOOLS}
    assert tools == set(pins), "every dev tool pinned, and only those"
    assert all(re.fullmatch(r"\d+(\.\d+)+", version) for version in pins.values())


def test_every_data_quality_flag_is_listed_and_explained() -> None:
    from otel_bridge.report._format import ISSUE_TEXT

    listed = re.search(r"Data-quality problems are listed in `issues`: (.+?)\.\n\n", README, re.S)
    assert listed is not None
    flags = set(re.findall(r"`([a-z_]+)`", listed.group(1)))
    produced: set[str] = set()
    for path in [
        *(ROOT / "otel_bridge" / "derivation").rglob("*.py"),
        *(ROOT / "otel_bridge" / "telemetry").rglob("*.py"),
    ]:
        produced |= set(re.findall(r"(?:issues|flags)\.append\(\"([a-z_]+)\"\)", path.read_text()))
    assert produced and produced <= flags  # every flag the code writes is in the README
    assert flags == set(ISSUE_TEXT)  # and the report explains each in words
