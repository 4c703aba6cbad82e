"""The RunTrace JSON has one typed description (``otel_bridge.run_json``), published as JSON
Schema in docs/: what derive() writes for every framework's recorded runs is exactly that."""

from __future__ import annotations

import json
import sys
from typing import Any, get_type_hints

import jsonschema
from click.testing import CliRunner
from support.paths import ROOT

from otel_bridge import RunTraceJSON, derive_all, load_spans
from otel_bridge.cli import main
from otel_bridge.run_json import json_schema

SCHEMA = ROOT / "docs" / "runtrace.schema.json"
RECORDED = sorted((ROOT / "tests" / "data").glob("*/*.otlp.json"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_derive import synthetic_trace  # noqa: E402  (a LlamaIndex AgentWorkflow run)


def runs() -> list[dict[str, Any]]:
    found = [r.to_dict() for path in RECORDED for r in derive_all(load_spans(str(path)))]
    found += [r.to_dict() for r in derive_all(synthetic_trace(200))]
    return found  # type: ignore[return-value]


def test_the_published_schema_is_the_one_the_types_give() -> None:
    """docs/runtrace.schema.json is regenerated with `otel-bridge schema`."""
    assert json.loads(SCHEMA.read_text()) == json_schema()
    printed = CliRunner().invoke(main, ["schema"])
    assert printed.exit_code == 0
    assert json.loads(printed.output) == json_schema()


def test_every_framework_s_runs_are_valid_against_the_schema() -> None:
    found = runs()
    frameworks = {r["labels"]["framework"] for r in found}
    assert {"llama_index", "langgraph", "smolagents", "openai_agents"} <= frameworks
    for run in found:
        jsonschema.validate(run, json.loads(SCHEMA.read_text()))


def _undeclared(value: Any, declared: Any, where: str) -> list[str]:
    """Keys written that the type does not declare, and declared required keys not written."""
    hints = get_type_hints(declared) if hasattr(declared, "__required_keys__") else None
    if hints is None or not isinstance(value, dict):
        return []
    problems = [f"{where}.{k}: not declared" for k in value if k not in hints]
    problems += [f"{where}.{k}: missing" for k in declared.__required_keys__ if k not in value]
    for key, sub in value.items():
        hint = hints.get(key)
        for item, item_type in _items(sub, hint):
            problems += _undeclared(item, item_type, f"{where}.{key}")
    return problems


def _items(value: Any, hint: Any) -> list[tuple[Any, Any]]:
    """(value, type) pairs one level down: the value itself, a list's items, a dict's values."""
    args: tuple[Any, ...] = getattr(hint, "__args__", ())
    origin = getattr(hint, "__origin__", None)
    if origin is list and isinstance(value, list):
        return [(v, args[0]) for v in value]
    if origin is dict and isinstance(value, dict):
        return [(v, args[1]) for v in value.values()]
    for arg in args or (hint,):  # X | None
        if hasattr(arg, "__required_keys__"):
            return [(value, arg)]
    return []


def test_the_types_declare_every_key_derive_writes_and_no_other() -> None:
    found = runs()
    assert any(r["handoffs"] for r in found) and any(r["delegations"] for r in found)
    for run in found:
        assert _undeclared(run, RunTraceJSON, "run") == [], run["trace_id"]
