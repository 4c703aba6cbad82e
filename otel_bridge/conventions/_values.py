"""How attribute values of an unexpected type are read: one rule per kind of attribute.

Producers send what they like: OTLP carries any ``AnyValue`` (numbers as text, arrays,
key-value lists, which arrive as JSON text), and a hostile client can send anything. Every
value the readers take goes through the rules below; nothing a span holds makes a reader
raise. A value that is not as expected is either *coerced* (its meaning is clear) or
*rejected* (read as if the span did not have it), and each one is noted (``ValueNotes``):
derivation turns the notes into the RunTrace flags ``coerced_values`` / ``rejected_values``
and logs each one (span id, attribute, value, rule) at DEBUG on ``otel_bridge.derivation``.

Token counts (``llm.token_count.*``, ``gen_ai.usage.*``)
    accepted  an integer from 0 to 2**63-1
    coerced   a float holding a whole number (``12.0``); decimal digits as text, spaces
              around allowed (``"42"``, ``" 7 "``)
    rejected  booleans, negatives, fractions, NaN, infinities, any other text (``""``,
              ``"1e3"``, ``"12.5"``, JSON), arrays
Time to first chunk (``gen_ai.response.time_to_first_chunk``)
    accepted  a finite number of seconds >= 0
    rejected  anything else
Text (model, provider, agent and tool names, roles, message content, ids, finish reasons)
    accepted  text
    coerced   a boolean or a number, as ``str()`` writes it
    rejected  arrays (and, inside JSON, objects and arrays)
JSON text (``gen_ai.input.messages`` / ``gen_ai.output.messages``, tool arguments and results,
``input.value`` / ``output.value`` of tools, ``traceloop.entity.output``, tool schemas)
    accepted  JSON up to ``MAX_JSON_DEPTH`` levels deep, of the shape its convention gives
              (text that is not JSON stays text where text is also fine: tool arguments
              and results)
    rejected  text that is not JSON where JSON is required; JSON nested deeper than
              ``MAX_JSON_DEPTH`` (kept as plain text where text is fine); an entry of the
              wrong shape (a message that is not an object, parts that are not a list, a
              part that is not an object) is skipped

What a rejected count does to usage: a rejected prompt or completion count makes the call's
usage unknown (``usage.complete`` false, the call counted in ``missing_calls``: never a zero
in its place); a rejected total is recomputed from prompt and completion; a rejected detail
count (cached, reasoning) reads as absent, i.e. 0, as an absent one always has. A count is
never negative. Attributes that only classify a span (``openinference.span.kind``,
``gen_ai.operation.name``) are compared as text: another value simply does not match, and is
not noted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import JsonTooDeep, SpanFormatError
from ..spans import SpanRecord

__all__ = [
    "COUNT_RULE",
    "JSON_RULE",
    "MAX_COUNT",
    "MAX_JSON_DEPTH",
    "TEXT_RULE",
    "Note",
    "ValueNotes",
    "ValueProblem",
    "as_text",
    "count",
    "json_value",
    "parse_json",
    "seconds",
    "shown",
    "text",
]

Action = Literal["coerced", "rejected"]
Note = Callable[[str, Action, Any, str], None]
"""Where a reader reports a value it coerced or rejected: (attribute, action, value, rule)."""

MAX_COUNT = 2**63 - 1  # what an OTLP intValue can carry
MAX_JSON_DEPTH = 100
COUNT_RULE = "a token count is an integer from 0 to 2**63-1"
TEXT_RULE = "text"
JSON_RULE = f"JSON of the expected shape, at most {MAX_JSON_DEPTH} levels deep"
_DIGITS = frozenset("0123456789")
_MAX_DIGITS = len(str(MAX_COUNT))


@dataclass(frozen=True, slots=True)
class ValueProblem:
    """One attribute value a reader coerced or rejected."""

    span_id: int
    attribute: str
    action: Action
    value: str  # a short repr, safe to print
    rule: str

    def describe(self) -> str:
        """One line a person can act on: span, attribute, what was done and why."""
        return (
            f"span {self.span_id:016x} attribute {self.attribute}: {self.action} "
            f"{self.value} ({self.rule})"
        )


class ValueNotes:
    """The value problems met while reading the spans of one trace, once per span and attribute."""

    def __init__(self) -> None:
        self._problems: dict[tuple[int, str], ValueProblem] = {}

    def for_span(self, span: SpanRecord) -> Note:
        """A ``Note`` that records problems of this span."""

        def note(attribute: str, action: Action, value: Any, rule: str) -> None:
            key = (span.span_id, attribute)
            if key not in self._problems:
                self._problems[key] = ValueProblem(
                    span.span_id, attribute, action, shown(value), rule
                )

        return note

    @property
    def problems(self) -> list[ValueProblem]:
        """Every problem, in the order met."""
        return list(self._problems.values())

    def has(self, action: Action) -> bool:
        """Whether some value was coerced (or rejected)."""
        return any(p.action == action for p in self._problems.values())


def shown(value: Any, limit: int = 80) -> str:
    """A short repr of a value from outside, safe to print (lone surrogates escaped)."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to print
        text = f"<{type(value).__name__}>"
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


# ---- counts and numbers ------------------------------------------------------------------


def count(attrs: Mapping[str, Any], key: str, note: Note | None) -> int | None:
    """A token count under ``key``: None when absent or rejected."""
    value = attrs.get(key)
    if value is None:
        return None
    if type(value) is int and 0 <= value <= MAX_COUNT:  # the common case, first
        return value
    number = _count(value)
    if note is not None:
        note(key, "rejected" if number is None else "coerced", value, COUNT_RULE)
    return number


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_COUNT else None
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and 0 <= value <= MAX_COUNT:
            return int(value)
        return None
    if isinstance(value, str):
        digits = value.strip()
        # Checked before int(): int() takes "1_000", "+5", "٣" and very long text is slow.
        if digits and len(digits) <= _MAX_DIGITS and _DIGITS.issuperset(digits):
            number = int(digits)
            return number if number <= MAX_COUNT else None
    return None


def seconds(attrs: Mapping[str, Any], key: str, note: Note | None) -> float | None:
    """A duration in seconds under ``key`` (finite, >= 0, whole in nanoseconds): else None."""
    value = attrs.get(key)
    if value is None:
        return None
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and value >= 0
        and math.isfinite(value * 1e9)
    ):
        return float(value)
    if note is not None:
        note(key, "rejected", value, "a duration is a finite number of seconds >= 0")
    return None


# ---- text --------------------------------------------------------------------------------


def text(attrs: Mapping[str, Any], key: str, note: Note | None) -> str | None:
    """Text under ``key``: None when absent or rejected (see ``as_text``)."""
    value = attrs.get(key)
    if value is None or type(value) is str:
        return value
    return as_text(value, key, note)


def as_text(value: Any, where: str, note: Note | None) -> str | None:
    """A value where text belongs: text as it is, a number or boolean as text, else None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        if note is not None:
            note(where, "coerced", value, TEXT_RULE)
        try:
            return str(value)
        except ValueError:  # an int too long to print as text
            pass
    if note is not None:
        note(where, "rejected", value, TEXT_RULE)
    return None


# ---- JSON --------------------------------------------------------------------------------


def _no_constants(name: str) -> Any:
    raise SpanFormatError(f"{name} is not JSON")  # NaN, Infinity: Python's json takes them


# One decoder for every parse: json.loads with an option builds a new decoder (and its C
# scanner) on each call, which cost a tenth of derive()'s time.
_DECODER = json.JSONDecoder(parse_constant=_no_constants)


def parse_json(raw: str) -> Any:
    """Parse JSON text, depth bounded: ``SpanFormatError`` if not JSON, ``JsonTooDeep`` too deep.

    Python's parser recurses once per level and would raise ``RecursionError`` on deep input;
    the structure it returns is walked iteratively, so nothing downstream recurses deeper than
    ``MAX_JSON_DEPTH``.
    """
    try:
        value = _DECODER.decode(raw)
    except RecursionError:
        raise JsonTooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except SpanFormatError:
        raise
    except ValueError as exc:  # json.JSONDecodeError, a lone surrogate
        raise SpanFormatError(f"not JSON: {exc}") from None
    # Cheap bound first: fewer brackets than the limit cannot nest deeper than it.
    if raw.count("[") + raw.count("{") > MAX_JSON_DEPTH and _depth(value) > MAX_JSON_DEPTH:
        raise JsonTooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _depth(value: Any) -> int:
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def json_value(raw: Any, where: str, note: Note | None, *, text_ok: bool) -> tuple[Any, bool]:
    """A JSON attribute: (parsed value, True), or (its text, False) when it is not JSON.

    ``text_ok``: plain text is an acceptable value here (tool arguments and results), so text
    that is not JSON is not noted; JSON nested too deep is always noted as rejected. A value
    that is not text at all is read by the text rule (``as_text``).
    """
    if not isinstance(raw, str):
        return as_text(raw, where, note), False
    try:
        return parse_json(raw), True
    except JsonTooDeep:
        if note is not None:
            note(where, "rejected", raw, JSON_RULE)
    except ValueError:
        if not text_ok and note is not None:
            note(where, "rejected", raw, JSON_RULE)
    return raw, False
