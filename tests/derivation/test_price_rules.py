"""A user's price table and its refusals, and the prices in force when a call started."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from support.fresh_prices import prices_not_memoised
from support.host_settings import time_zone
from support.records import TraceBuilder, assistant, user

from otel_bridge import ConfigError, derive
from otel_bridge.derivation import ModelPrice, parse_price_table

__all__ = ["prices_not_memoised"]  # an autouse fixture, imported for pytest


# ---- a user's price table ----------------------------------------------------------------------


def test_a_price_table_reads_numbers_as_decimals_and_says_what_is_wrong() -> None:
    table = parse_price_table(
        {"My-Model": {"input_mtok": "0.15", "output_mtok": 0.6, "cached_input_mtok": 1}}
    )
    assert table == {
        "My-Model": ModelPrice(Decimal("0.15"), Decimal("0.6"), Decimal(1), None),
    }
    price = table["My-Model"]
    assert (price.input_mtok, price.output_mtok, price.cached_input_mtok) == (
        Decimal("0.15"),
        Decimal("0.6"),  # the decimal 0.6, not the float's binary neighbour
        Decimal(1),
    )
    assert price.reasoning_mtok is None
    assert price.to_dict() == {
        "input_mtok": 0.15, "output_mtok": 0.6, "cached_input_mtok": 1.0, "reasoning_mtok": None,
    }  # fmt: skip
    refusals = [
        ([], "prices.json: expected a mapping of model name to prices"),
        ({"m": 3}, "prices.json: model 'm': expected a mapping like {input_mtok: ..., output"),
        (
            {"m": {"input_mtok": 1, "output_mtok": 2, "cache": 1}},
            "prices.json: model 'm': unknown keys ['cache']; use ['cached_input_mtok', 'input_m",
        ),
        ({"m": {"input_mtok": 1}}, "prices.json: model 'm': missing output_mtok"),
        ({"m": {}}, "prices.json: model 'm': missing input_mtok, output_mtok"),
        (
            {"m": {"input_mtok": True, "output_mtok": 2}},
            "prices.json: model 'm': input_mtok: expected a number of USD per million tokens, "
            "got True",
        ),
        (
            {"m": {"input_mtok": [1], "output_mtok": 2}},
            "prices.json: model 'm': input_mtok: expected a number of USD per million tokens, "
            "got [1]",
        ),
        (
            {"m": {"input_mtok": "cheap", "output_mtok": 2}},
            "prices.json: model 'm': input_mtok: not a number: 'cheap'",
        ),
        (
            {"m": {"input_mtok": 1, "output_mtok": "-0.5"}},
            "prices.json: model 'm': output_mtok: expected a non-negative number, got '-0.5'",
        ),
        (
            {"m": {"input_mtok": 1, "output_mtok": "NaN"}},
            "prices.json: model 'm': output_mtok: expected a non-negative number, got 'NaN'",
        ),
        (
            {"m": {"input_mtok": 1, "output_mtok": 2, "reasoning_mtok": "inf"}},
            "prices.json: model 'm': reasoning_mtok: expected a non-negative number, got 'inf'",
        ),
        (
            {"M": {"input_mtok": 1, "output_mtok": 2}, "m": {"input_mtok": 1, "output_mtok": 2}},
            "price table: 'm' is listed twice (names ignore case)",
        ),
        ({"": {"input_mtok": 1, "output_mtok": 2}}, "price table: a model name must be a non-e"),
    ]
    for data, says in refusals:
        with pytest.raises(ConfigError) as raised:
            parse_price_table(data, "prices.json")
        assert str(raised.value).startswith(says), (data, str(raised.value))
    assert parse_price_table({"m": {"input_mtok": " 2 ", "output_mtok": 0}})["m"] == ModelPrice(
        2, 0
    )


def test_a_price_needs_its_input_and_output_rates() -> None:
    for missing in ({"input_mtok": None, "output_mtok": 1}, {"input_mtok": 1, "output_mtok": None}):
        with pytest.raises(ConfigError, match="expected a number of USD per million tokens, got N"):
            ModelPrice(**missing)  # type: ignore[arg-type]


def test_a_price_table_of_no_named_source_is_called_price_table_in_its_refusals() -> None:
    with pytest.raises(ConfigError, match=r"^price table: expected a mapping of model name to p"):
        parse_price_table(["gpt-4o-mini"])


# ---- prices in force when the call started -----------------------------------------------------


@pytest.mark.parametrize(
    ("started", "input_usd", "output_usd"),
    [
        # claude-sonnet-4-6 was tiered until 2026-03-13: above 200k input tokens, the whole call
        # at 6 and 22.5 per million; from then on 3 and 15 whatever the prompt's size
        (datetime(2026, 3, 12, 12, tzinfo=UTC), Decimal("1.5"), Decimal("0.0225")),
        (datetime(2026, 3, 13, 0, 0, 1, tzinfo=UTC), Decimal("0.75"), Decimal("0.015")),
        (datetime(2026, 3, 14, 12, tzinfo=UTC), Decimal("0.75"), Decimal("0.015")),
    ],
)
def test_a_call_is_priced_at_the_prices_in_force_when_it_started(
    started: datetime, input_usd: Decimal, output_usd: Decimal
) -> None:
    at = started.timestamp() * 1000  # ms
    b = TraceBuilder()
    root = b.root(at, at + 30)
    step = b.step(root, "writer", at, at + 10)
    model = {"llm.model_name": "claude-sonnet-4-6", "llm.provider": "anthropic"}
    b.llm(step, at + 0.1, at + 9, [user("q")], [assistant("a")], (250_000, 1000), extra=model)
    with time_zone("Pacific/Kiritimati"):  # UTC+14: the local date is a day later
        cost = derive(b.spans).cost
    assert (cost.input_usd, cost.output_usd, cost.total_usd) == (
        input_usd,
        output_usd,
        input_usd + output_usd,
    )
