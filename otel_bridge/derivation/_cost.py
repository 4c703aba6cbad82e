"""Money cost of LLM calls: genai-prices' bundled price data, or a user's price table. Pure.

Token semantics match one to one: our ``input_tokens`` includes the cached input tokens, as
genai-prices' ``input_tokens`` includes its ``cache_read_tokens`` (it prices the rest at the
input rate); our ``output_tokens`` includes the reasoning tokens, as its ``output_tokens``
includes ``output_reasoning_tokens``. A model without a separate cached or reasoning price
has those tokens priced at its input or output rate, as the provider bills them.

Prices come from genai-prices' data as installed, never from its network auto-update, and
are those in force when the call started, so a RunTrace derived twice costs the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..run_trace import Cost, TokenUsage

if TYPE_CHECKING:
    from genai_prices import types as gp

__all__ = [
    "ModelPrice",
    "PriceTable",
    "call_cost",
    "check_price_table",
    "parse_price_table",
    "preload_prices",
]

MTOK = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """A user's price for one model, in USD per million tokens.

    Cached input tokens cost ``cached_input_mtok`` (default: the input price), reasoning
    tokens ``reasoning_mtok`` (default: the output price). Numbers are kept as ``Decimal``.
    """

    input_mtok: Decimal | float
    output_mtok: Decimal | float
    cached_input_mtok: Decimal | float | None = None
    reasoning_mtok: Decimal | float | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None or f.name in ("input_mtok", "output_mtok"):
                object.__setattr__(self, f.name, _decimal(value, f.name))

    def to_dict(self) -> dict[str, float | None]:
        """JSON form (the price file's entry)."""
        return {
            f.name: None if (v := getattr(self, f.name)) is None else float(v) for f in fields(self)
        }


PriceTable = Mapping[str, ModelPrice]
"""Model name (as the spans report it, matched ignoring case) -> its price."""


def _decimal(value: object, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise ConfigError(f"{name}: expected a number of USD per million tokens, got {value!r}")
    try:
        # str() first: a float like 0.15 means the decimal 0.15, not its binary neighbour.
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ConfigError(f"{name}: not a number: {value!r}") from None
    if not number.is_finite() or number < 0:
        raise ConfigError(f"{name}: expected a non-negative number, got {value!r}")
    return number


# ---- pricing --------------------------------------------------------------------------


def check_price_table(prices: PriceTable | None) -> dict[str, ModelPrice]:
    """A checked copy of a user price table, keyed by lower-case model name."""
    table: dict[str, ModelPrice] = {}
    for model, price in (prices or {}).items():
        if not isinstance(model, str) or not model:
            raise ConfigError(f"price table: a model name must be a non-empty string: {model!r}")
        if not isinstance(price, ModelPrice):
            raise ConfigError(
                f"price table: {model!r} must map to a ModelPrice, got {type(price).__name__}"
            )
        key = model.lower()
        if key in table:
            raise ConfigError(f"price table: {model!r} is listed twice (names ignore case)")
        table[key] = price
    return table


def call_cost(
    model: str | None,
    provider: str | None,
    usage: TokenUsage,
    at_ns: int,
    prices: Mapping[str, ModelPrice],
) -> Cost:
    """The cost of one LLM call; unknown when its token counts or its model's price are.

    ``prices`` (from ``check_price_table``) overrides genai-prices for the models it names;
    ``provider`` narrows genai-prices' search when it knows that provider, else the model
    name alone decides; ``at_ns`` picks the prices in force then.
    """
    if (
        not usage.complete
        or not model
        or usage.cached_input_tokens > usage.input_tokens
        or usage.reasoning_tokens > usage.output_tokens
    ):
        return Cost.unknown()
    user = prices.get(model.lower())
    if user is not None:
        return _user_rates(user).cost(usage)
    info = _genai_model(model.lower(), (provider or "").lower())
    if info is None:
        return Cost.unknown()
    price = _price_at(info, at_ns)
    rates = _genai_rates(price)
    return rates.cost(usage) if rates is not None else _tiered_cost(price, usage)


def _price_at(info: gp.ModelInfo, at_ns: int) -> gp.ModelPrice:
    """The model's price in force at ``at_ns`` (one price for all time: no date to make)."""
    if not isinstance(info.prices, list):  # else prices by date (``ConditionalPrice``s)
        return info.prices
    return info.get_prices(datetime.fromtimestamp(at_ns / 1e9, tz=UTC))


@dataclass(frozen=True, slots=True)
class _Rates:
    """A linear price: USD (input, output, total) per request and per token of each kind.

    genai-prices takes ~50 us to price one call (it re-validates its unit tree every time),
    which would double the time derivation spends per LLM call. A price that is not tiered is
    linear in the token counts, so it is sampled once per price through genai-prices itself
    and then applied by multiplication: the same semantics, exact to the last Decimal digit.
    """

    request: tuple[Decimal, Decimal, Decimal]
    per_token: tuple[tuple[Decimal, Decimal, Decimal], ...]  # fresh in, cached, out, reasoning
    # (kind, amount, rate) of each rate that is not zero: the only products worth making
    terms: tuple[tuple[int, int, Decimal], ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        terms = tuple(
            (kind, amount, rate)
            for kind, rates in enumerate(self.per_token)
            for amount, rate in enumerate(rates)
            if rate
        )
        object.__setattr__(self, "terms", terms)

    def cost(self, usage: TokenUsage) -> Cost:
        counts = (
            usage.input_tokens - usage.cached_input_tokens,
            usage.cached_input_tokens,
            usage.output_tokens - usage.reasoning_tokens,
            usage.reasoning_tokens,
        )
        amounts = list(self.request)
        for kind, amount, rate in self.terms:
            n = counts[kind]
            if n:
                amounts[amount] += n * rate
        return Cost(total_usd=amounts[2], input_usd=amounts[0], output_usd=amounts[1])


def preload_prices() -> None:
    """Load the price database now, before agents run.

    Importing it imports ``httpx2``; the OpenAI client looks that module up in
    ``sys.modules`` on every request, so importing it while clients run on other threads (the
    first derivation of a multi-threaded benchmark) lets them see it half-initialised and fail.
    """
    _snapshot()


@cache
def _snapshot() -> Any:
    """genai-prices' bundled data, in a snapshot of our own (None if it is not installed).

    ``genai_prices.calc_price`` reads a process-wide snapshot that its ``UpdatePrices`` may
    replace with prices fetched over the network; derivation stays reproducible without it.
    """
    try:
        from genai_prices.data import providers
        from genai_prices.data_snapshot import DataSnapshot
    except ImportError:  # genai-prices needs Python 3.11: before that only a user's prices
        return None
    return DataSnapshot(providers=providers, from_auto_update=False)


@lru_cache(maxsize=4096)  # bounded: model names come from spans, i.e. from outside
def _genai_model(model: str, provider: str) -> gp.ModelInfo | None:
    """genai-prices' entry for a model: under the span's provider if it knows that provider."""
    snapshot = _snapshot()
    if snapshot is None:
        return None
    if provider:
        try:
            known = snapshot.find_provider(None, provider, None)
        except LookupError:
            known = None  # a provider name genai-prices does not use: match by model
        if known is not None:
            found: gp.ModelInfo | None = known.find_model(model, all_providers=snapshot.providers)
            return found
    try:
        return snapshot.find_provider_model(model, None, None, None)[1]
    except LookupError:
        return None


_genai_rates_cache: dict[int, tuple[gp.ModelPrice, _Rates | None]] = {}


def _genai_rates(price: gp.ModelPrice) -> _Rates | None:
    """The linear rates of one genai-prices price (None if tiered), memoised per price."""
    hit = _genai_rates_cache.get(id(price))
    if hit is not None and hit[0] is price:
        return hit[1]
    from genai_prices.types import TieredPrices

    tiered = any(isinstance(v, TieredPrices) for v in vars(price).values())
    rates = None if tiered else _sample(price)
    # The price is kept with its rates: its id cannot be reused while the entry lives.
    _genai_rates_cache[id(price)] = (price, rates)
    return rates


@lru_cache(maxsize=1024)
def _user_rates(price: ModelPrice) -> _Rates:
    """A user's price as rates: cached input falls back to input, reasoning to output."""
    zero = Decimal(0)
    inp, out = Decimal(price.input_mtok) / MTOK, Decimal(price.output_mtok) / MTOK
    cached = inp if price.cached_input_mtok is None else Decimal(price.cached_input_mtok) / MTOK
    reasoning = out if price.reasoning_mtok is None else Decimal(price.reasoning_mtok) / MTOK
    return _Rates(
        request=(zero, zero, zero),
        per_token=(
            (inp, zero, inp),
            (cached, zero, cached),
            (zero, out, out),
            (zero, reasoning, reasoning),
        ),
    )


def _sample(price: gp.ModelPrice) -> _Rates:
    """Rates of a price that is not tiered, read from genai-prices' own arithmetic."""
    from genai_prices import Usage

    def amounts(**tokens: int) -> tuple[Decimal, Decimal, Decimal]:
        result = price.calc_price(Usage(**tokens))
        return result["input_price"], result["output_price"], result["total_price"]

    request = amounts()
    million = int(MTOK)
    samples = (
        amounts(input_tokens=million),
        amounts(input_tokens=million, cache_read_tokens=million),
        amounts(output_tokens=million),
        amounts(output_tokens=million, output_reasoning_tokens=million),
    )
    per_token = tuple(tuple((s[i] - request[i]) / MTOK for i in range(3)) for s in samples)
    return _Rates(request, per_token)  # type: ignore[arg-type]


def _tiered_cost(price: gp.ModelPrice, usage: TokenUsage) -> Cost:
    """A tiered price (the rate depends on the prompt's size): genai-prices prices the call."""
    from genai_prices import Usage

    result = price.calc_price(
        Usage(
            input_tokens=usage.input_tokens,
            cache_read_tokens=usage.cached_input_tokens,
            output_tokens=usage.output_tokens,
            output_reasoning_tokens=usage.reasoning_tokens,
        )
    )
    return Cost(
        total_usd=result["total_price"],
        input_usd=result["input_price"],
        output_usd=result["output_price"],
    )


# ---- price tables (a file's parsed contents; reading the file is telemetry's) --------------

_KEYS = frozenset(f.name for f in fields(ModelPrice))


def parse_price_table(data: object, source: str = "price table") -> dict[str, ModelPrice]:
    """A price table from parsed JSON/YAML/TOML: ``{model: {"input_mtok": ..., ...}}``."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a mapping of model name to prices")
    table: dict[str, ModelPrice] = {}
    for model, entry in data.items():
        where = f"{source}: model {model!r}"
        if not isinstance(entry, Mapping):
            raise ConfigError(
                f"{where}: expected a mapping like {{input_mtok: ..., output_mtok: ...}}"
            )
        unknown = sorted(set(map(str, entry)) - _KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown keys {unknown}; use {sorted(_KEYS)}")
        missing = sorted({"input_mtok", "output_mtok"} - set(entry))
        if missing:
            raise ConfigError(f"{where}: missing {', '.join(missing)}")
        try:
            table[str(model)] = ModelPrice(**entry)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    check_price_table(table)  # names: non-empty, not twice
    return table
