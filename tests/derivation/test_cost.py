"""Cost in money on hand-built records: genai-prices' bundled prices, a user's table, unknowns.

Expected amounts are worked out by hand from the published prices (USD per million tokens):
gpt-4o-mini input 0.15, cached input 0.075, output 0.6; sonar-deep-research (Perplexity)
input 2, output 8, reasoning 3; claude-sonnet-4-5 input 3, cache read 0.3, output 15, and
above 200k input tokens 6 and 22.5.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openinference.semconv.trace import SpanAttributes
from support.fresh_prices import prices_not_memoised
from support.paths import ROOT
from support.records import TraceBuilder, assistant, handoff_trace, user

from otel_bridge import ConfigError, Cost, ModelPrice, Telemetry, TokenUsage, derive, derive_all
from otel_bridge import load_price_table as load_prices
from otel_bridge.conventions import genai_attributes as genai
from otel_bridge.telemetry import TelemetryConfig

__all__ = ["prices_not_memoised"]  # an autouse fixture, imported for pytest

CACHED = SpanAttributes.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ
REASONING = SpanAttributes.LLM_TOKEN_COUNT_COMPLETION_DETAILS_REASONING
PROVIDER = SpanAttributes.LLM_PROVIDER
MODEL = SpanAttributes.LLM_MODEL_NAME


def one_call(
    usage: tuple[int, int] | None = (1000, 100), **attributes: Any
) -> list[Any]:  # SpanRecords
    """A one-agent run with one LLM call; ``attributes`` go on the LLM span."""
    b = TraceBuilder()
    root = b.root()
    step = b.step(root, "solo", 1, 50)
    b.llm(step, 2, 40, [user("Hi.")], [assistant("Hello.")], usage=usage, extra=attributes)
    return b.spans


def two_calls(first: dict[str, Any], second: dict[str, Any]) -> list[Any]:
    """Two LLM calls of 1000 input / 100 output tokens, each with its own attributes."""
    b = TraceBuilder()
    root = b.root()
    step = b.step(root, "solo", 1, 50)
    b.llm(step, 2, 20, [user("Hi.")], [assistant("One.")], usage=(1000, 100), extra=first)
    b.llm(step, 21, 40, [user("Hi.")], [assistant("Two.")], usage=(1000, 100), extra=second)
    return b.spans


def usd(total: str, input_: str, output: str) -> Cost:
    return Cost(total_usd=Decimal(total), input_usd=Decimal(input_), output_usd=Decimal(output))


# ----------------------------------------------------------------------------- genai-prices


def test_cached_input_tokens_are_priced_at_the_cached_rate() -> None:
    # 500 fresh x 0.15 + 500 cached x 0.075 + 100 out x 0.6 = 75 + 37.5 + 60 micro-dollars
    trace = derive(one_call((1000, 100), **{CACHED: 500, PROVIDER: "openai"}))
    (call,) = trace.llm_calls
    assert call.cost == usd("0.0001725", "0.0001125", "0.00006")
    assert call.to_dict()["cost"] == {
        "total_usd": 0.0001725,
        "input_usd": 0.0001125,
        "output_usd": 0.00006,
        "complete": True,
        "unpriced_calls": 0,
    }
    assert trace.cost == call.cost and trace.issues == []


def test_reasoning_tokens_are_part_of_output_and_priced_separately_where_the_model_does() -> None:
    # sonar-deep-research: 1000 in x 2 + 200 plain out x 8 + 300 reasoning x 3 = 2000+1600+900
    spans = one_call(
        (1000, 500), **{REASONING: 300, MODEL: "sonar-deep-research", PROVIDER: "perplexity"}
    )
    assert derive(spans).cost == usd("0.0045", "0.002", "0.0025")
    # gpt-4o-mini has no reasoning price: reasoning is output, counted once (1000x0.15+100x0.6)
    assert derive(one_call((1000, 100), **{REASONING: 40})).cost == usd(
        "0.00021", "0.00015", "0.00006"
    )


def test_tiered_prices_follow_the_prompt_size() -> None:
    base = {MODEL: "claude-sonnet-4-5", PROVIDER: "anthropic"}
    # 1000 fresh x 3 + 1000 cache read x 0.3 + 100 out x 15
    assert derive(one_call((2000, 100), **base, **{CACHED: 1000})).cost == usd(
        "0.0048", "0.0033", "0.0015"
    )
    # above 200k input tokens the whole call costs the higher tier: 250k x 6 + 1000 x 22.5
    assert derive(one_call((250_000, 1000), **base)).cost == usd("1.5225", "1.5", "0.0225")


def test_genai_convention_spans_are_priced_from_their_provider_and_model() -> None:
    b = TraceBuilder()
    root = b.span("workflow", 0, 100)
    attrs = {
        genai.OPERATION: "chat",
        genai.AGENT_NAME: "writer",
        genai.PROVIDER: "anthropic",
        genai.REQUEST_MODEL: "claude-sonnet-4-5",
        genai.INPUT_TOKENS: 2000,
        genai.CACHE_READ_TOKENS: 1000,
        genai.OUTPUT_TOKENS: 100,
    }
    b.span("chat claude-sonnet-4-5", 1, 10, root, attrs=attrs)
    trace = derive(b.spans)
    assert trace.cost == usd("0.0048", "0.0033", "0.0015")
    assert trace.agents["writer"].cost == trace.cost


def test_the_span_provider_narrows_the_search_only_when_genai_prices_knows_it() -> None:
    # A provider name genai-prices does not use: the model name alone finds the price.
    gateway = derive(one_call((1000, 100), **{PROVIDER: "my-gateway"})).cost
    assert gateway == usd("0.00021", "0.00015", "0.00006")
    # Perplexity's model is found only under Perplexity.
    assert derive(one_call((1000, 100), **{MODEL: "sonar-deep-research"})).cost.complete is False
    # A known provider that does not sell this model: unknown, not another provider's price.
    assert derive(one_call((1000, 100), **{PROVIDER: "anthropic"})).cost.complete is False


def test_per_agent_per_model_and_run_costs_add_up() -> None:
    trace = derive(handoff_trace().spans)
    # researcher: (100 x 0.15 + 10 x 0.6) + (150 x 0.15 + 12 x 0.6) = 21 + 29.7
    # writer: 300 x 0.15 + 30 x 0.6 = 63
    assert [c.cost.total_usd for c in trace.llm_calls] == [
        Decimal("0.000021"),
        Decimal("0.0000297"),
        Decimal("0.000063"),
    ]
    assert trace.agents["researcher"].cost == usd("0.0000507", "0.0000375", "0.0000132")
    assert trace.agents["writer"].cost == usd("0.000063", "0.000045", "0.000018")
    assert trace.cost == usd("0.0001137", "0.0000825", "0.0000312")
    assert trace.cost_by_model == {"gpt-4o-mini": trace.cost}
    data = trace.to_dict()
    assert data["cost"]["total_usd"] == 0.0001137
    assert data["agents"]["writer"]["cost"]["total_usd"] == 0.000063
    assert data["cost_by_model"]["gpt-4o-mini"]["complete"] is True
    json.dumps(data)


# ----------------------------------------------------------------------------- unknown


def test_an_unknown_model_leaves_its_cost_unknown_never_zero() -> None:
    trace = derive(two_calls({}, {MODEL: "my-local-model"}))
    known, unknown = trace.llm_calls
    assert known.cost == usd("0.00021", "0.00015", "0.00006")
    assert unknown.cost == Cost(None, None, None, complete=False, unpriced_calls=1)
    assert unknown.to_dict()["cost"] == {
        "total_usd": None,
        "input_usd": None,
        "output_usd": None,
        "complete": False,
        "unpriced_calls": 1,
    }
    # the run holds the known part and says it is incomplete
    assert trace.cost == Cost(Decimal("0.00021"), Decimal("0.00015"), Decimal("0.00006"), False, 1)
    assert trace.cost_by_model["my-local-model"].total_usd is None
    assert trace.agents["solo"].cost.complete is False
    assert "price_unknown" in trace.issues and "tokens_missing" not in trace.issues


def test_a_run_of_only_unknown_calls_has_no_amount() -> None:
    trace = derive(two_calls({MODEL: "my-local-model"}, {MODEL: "unknown"}))
    assert trace.to_dict()["cost"] == {
        "total_usd": None,
        "input_usd": None,
        "output_usd": None,
        "complete": False,
        "unpriced_calls": 2,
    }


def test_missing_token_counts_make_the_cost_unknown() -> None:
    trace = derive(one_call(usage=None))
    assert trace.llm_calls[0].cost.total_usd is None
    assert trace.cost.complete is False and trace.cost.unpriced_calls == 1
    assert "tokens_missing" in trace.issues and "price_unknown" not in trace.issues


def test_counts_that_contradict_each_other_are_not_priced() -> None:
    # 1500 cached tokens out of 1000 input tokens: bad data, not a price
    trace = derive(one_call((1000, 100), **{CACHED: 1500}))
    assert trace.cost.total_usd is None and trace.cost.complete is False


def test_a_run_without_llm_calls_costs_nothing() -> None:
    b = TraceBuilder()
    b.root()
    trace = derive(b.spans)
    assert trace.cost == Cost() and trace.to_dict()["cost"]["total_usd"] == 0.0


def test_cost_sums_keep_known_parts_and_say_what_is_missing() -> None:
    a = usd("0.5", "0.25", "0.25")
    assert Cost.combine([]) == Cost(Decimal(0), Decimal(0), Decimal(0), True, 0)
    assert Cost.combine([a, Cost.unknown(), a]) == Cost(
        Decimal("1.0"), Decimal("0.5"), Decimal("0.5"), False, 1
    )
    assert Cost.combine([Cost.unknown(), Cost.unknown()]) == Cost(None, None, None, False, 2)
    assert Cost.combine(iter([Cost.unknown(), a])) == Cost(
        Decimal("0.5"), Decimal("0.25"), Decimal("0.25"), False, 1
    )


def test_usage_sums_add_every_count_and_say_what_is_missing() -> None:
    a = TokenUsage(100, 20, 120, 40, 5)
    assert TokenUsage.combine([]) == TokenUsage()
    assert TokenUsage.combine(iter([a, TokenUsage.missing(), a])) == TokenUsage(
        200, 40, 240, 80, 10, complete=False, missing_calls=1
    )
    assert TokenUsage.combine([a, a]) == a + a


# ----------------------------------------------------------------------------- a user's prices


def test_a_user_price_table_overrides_genai_prices_for_the_models_it_names() -> None:
    spans = one_call((1000, 100), **{CACHED: 500, REASONING: 40})
    # no cached or reasoning price: cached input costs input, reasoning costs output
    plain = {"GPT-4o-mini": ModelPrice(input_mtok=1, output_mtok=2)}  # names ignore case
    assert derive(spans, prices=plain).cost == usd("0.0012", "0.001", "0.0002")
    # 500 x 1 + 500 x 0.5; 60 x 2 + 40 x 10
    full = {
        "gpt-4o-mini": ModelPrice(
            input_mtok=1, output_mtok=2, cached_input_mtok=0.5, reasoning_mtok=10
        )
    }
    assert derive(spans, prices=full).cost == usd("0.00127", "0.00075", "0.00052")


def test_a_user_price_table_prices_models_genai_prices_does_not_know() -> None:
    spans = two_calls({}, {MODEL: "my-local-model"})
    table = {"my-local-model": ModelPrice(input_mtok=Decimal("0.1"), output_mtok=Decimal("0.2"))}
    (trace,) = derive_all(spans, prices=table)
    # gpt-4o-mini still from genai-prices (210 micro-dollars), ours 1000 x 0.1 + 100 x 0.2
    assert trace.cost == usd("0.00033", "0.00025", "0.00008")
    assert trace.cost.complete and "price_unknown" not in trace.issues


@pytest.mark.parametrize(
    ("prices", "message"),
    [
        ({"m": {"input_mtok": 1, "output_mtok": 1}}, "'m' must map to a ModelPrice, got dict"),
        ({"": ModelPrice(1, 1)}, "a model name must be a non-empty string"),
        ({"M": ModelPrice(1, 1), "m": ModelPrice(2, 2)}, "'m' is listed twice"),
    ],
)
def test_a_malformed_price_table_is_refused(prices: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        derive(one_call(), prices=prices)
    with pytest.raises(ConfigError, match=message):
        Telemetry(prices=prices)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_mtok": -1, "output_mtok": 1}, "input_mtok: expected a non-negative number"),
        ({"input_mtok": 1, "output_mtok": True}, "output_mtok: expected a number"),
        ({"input_mtok": "cheap", "output_mtok": 1}, "input_mtok: not a number: 'cheap'"),
        ({"input_mtok": float("nan"), "output_mtok": 1}, "expected a non-negative number"),
        ({"input_mtok": 1, "output_mtok": 1, "reasoning_mtok": [3]}, "reasoning_mtok: expected"),
    ],
)
def test_a_malformed_model_price_is_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ModelPrice(**kwargs)


def test_telemetry_passes_its_prices_to_every_derivation_and_describes_them() -> None:
    table = {"gpt-4o-mini": ModelPrice(input_mtok=1, output_mtok=2)}
    config = TelemetryConfig(prices=table)
    table["gpt-4o-mini"] = ModelPrice(input_mtok=9, output_mtok=9)  # the config keeps its copy
    assert config.describe()["prices"] == {
        "gpt-4o-mini": {
            "input_mtok": 1.0,
            "output_mtok": 2.0,
            "cached_input_mtok": None,
            "reasoning_mtok": None,
        }
    }
    assert TelemetryConfig().describe()["prices"] is None


# ----------------------------------------------------------------------------- price files

PRICES = {
    "my-local-model": ModelPrice(input_mtok=Decimal("0.1"), output_mtok=Decimal("0.2")),
    "gpt-4.1": ModelPrice(
        input_mtok=Decimal("2"),
        output_mtok=Decimal("8"),
        cached_input_mtok=Decimal("0.5"),
        reasoning_mtok=None,
    ),
}


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "prices.json",
            '{"my-local-model": {"input_mtok": 0.1, "output_mtok": 0.2},'
            ' "gpt-4.1": {"input_mtok": 2, "output_mtok": 8, "cached_input_mtok": 0.5}}',
        ),
        (
            "prices.toml",
            '[my-local-model]\ninput_mtok = 0.1\noutput_mtok = 0.2\n\n["gpt-4.1"]\n'
            "input_mtok = 2\noutput_mtok = 8\ncached_input_mtok = 0.5\n",
        ),
        (
            "prices.yaml",
            "my-local-model: {input_mtok: 0.1, output_mtok: 0.2}\n"
            "gpt-4.1:\n  input_mtok: 2\n  output_mtok: 8\n  cached_input_mtok: 0.5\n",
        ),
    ],
)
def test_price_files_in_json_toml_and_yaml_read_alike(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert load_prices(path) == PRICES


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("p.json", '{"m": {"input_mtok": 1}}', r"p.json: model 'm': missing output_mtok$"),
        (
            "p.json",
            '{"m": {"input_mtok": 1, "output_mtok": 1, "cache_mtok": 1}}',
            r"model 'm': unknown keys \['cache_mtok'\]; use \['cached_input_mtok', ",
        ),
        ("p.json", '{"m": {"input_mtok": -1, "output_mtok": 1}}', "model 'm': input_mtok: "),
        ("p.json", '{"m": 0.1}', "model 'm': expected a mapping like"),
        ("p.json", "[1, 2]", "p.json: expected a mapping of model name to prices"),
        ("p.json", '{"m": ', "p.json: not valid JSON: "),
        ("p.toml", "m = [", "p.toml: not valid TOML: "),
        ("p.yaml", "m: [", "p.yaml: not valid YAML: "),
        ("p.csv", "m,1,2", "p.csv: a price table must be a .json, .toml, .yaml or .yml file"),
    ],
)
def test_a_bad_price_file_gives_one_clear_line(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_prices(path)
    assert "\n" not in str(caught.value)


def test_a_missing_price_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nowhere.json: cannot read the price table: "):
        load_prices(tmp_path / "nowhere.json")


def test_without_genai_prices_only_the_users_prices_are_known() -> None:
    """genai-prices needs Python 3.11: without it a run still derives, its costs unknown."""
    code = (
        "import sys\n"
        "sys.modules['genai_prices'] = None  # as if it were not installed\n"
        "sys.path.insert(0, 'tests')\n"
        "from support.records import TraceBuilder, assistant, user\n"
        "from otel_bridge import ModelPrice, derive\n"
        "b = TraceBuilder()\n"
        "step = b.step(b.root(), 'solo', 1, 50)\n"
        "b.llm(step, 2, 40, [user('Hi.')], [assistant('Hello.')], usage=(1000, 100))\n"
        "print(derive(b.spans).to_dict()['cost'])\n"
        "table = {'gpt-4o-mini': ModelPrice(input_mtok=1, output_mtok=2)}\n"
        "print(derive(b.spans, prices=table).to_dict()['cost'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.splitlines()
    assert out == [
        "{'total_usd': None, 'input_usd': None, 'output_usd': None, 'complete': False, "
        "'unpriced_calls': 1}",
        "{'total_usd': 0.0012, 'input_usd': 0.001, 'output_usd': 0.0002, 'complete': True, "
        "'unpriced_calls': 0}",
    ]


def test_a_telemetry_loads_the_price_database_before_agents_run() -> None:
    """Imported later, mid-run, it races with OpenAI clients on other threads (httpx2)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from otel_bridge import Telemetry\n"
        "before = 'httpx2' in sys.modules\n"
        "Telemetry()\n"
        "print(before, 'genai_prices' in sys.modules, 'httpx2' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True", "True"]
