"""``direct_init``: frozen records built faster, and in every other way the dataclass's own."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any

import pytest

from otel_bridge._frozen import direct_init
from otel_bridge.conventions._facts import LLMFacts, ToolFacts
from otel_bridge.derivation._messages import CallMessages
from otel_bridge.run_trace import (
    AgentStats,
    Cost,
    Delegation,
    Handoff,
    LLMCall,
    RunTrace,
    Timings,
    TokenUsage,
    ToolCall,
)
from otel_bridge.sources._summary import RunSummary
from otel_bridge.spans import SpanEvent, SpanRecord

# The records derivation builds per span, call and message (hundreds per run).
RECORDS = [
    SpanRecord, SpanEvent, TokenUsage, Cost, LLMCall, ToolCall, Handoff, Delegation,
    AgentStats, Timings, RunTrace, CallMessages, LLMFacts, ToolFacts, RunSummary,
]  # fmt: skip


def every_kind_of_field(fast: bool) -> type:
    """The same class with the dataclass's ``__init__`` or with ``direct_init``'s."""

    @dataclass(frozen=True, slots=True)
    class Record:
        required: int
        other: str
        listed: list[int] = field(default_factory=list)
        plain: str = "x"
        fixed: int = field(init=False, default=4)
        made: dict[str, int] = field(init=False, default_factory=dict)
        late: int = field(init=False)
        named: int = field(default=0, kw_only=True)
        named_required: str = field(default="n", kw_only=True)

        def __post_init__(self) -> None:
            assert self.fixed == 4 and self.made == {}  # set before, as the dataclass does
            object.__setattr__(self, "late", self.required * 2)

    return direct_init(Record) if fast else Record


def built(cls: type, *args: Any, **kwargs: Any) -> Any:
    try:
        return cls(*args, **kwargs)
    except TypeError as exc:
        return f"TypeError: {exc}"


CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((1, "a"), {}),
    ((1, "a", [2], "p"), {"named": 3}),
    ((), {"required": 1, "other": "a", "plain": "q", "named_required": "m"}),
    ((1,), {}),  # missing
    ((1, "a"), {"nope": 1}),  # unexpected
    ((1, "a", [], "p", 9), {}),  # too many positional
    ((1, "a"), {"other": "b"}),  # twice
    ((1, "a"), {"fixed": 5}),  # not an __init__ field
]


@pytest.mark.parametrize(("args", "kwargs"), CALLS)
def test_builds_what_the_dataclass_builds_and_refuses_what_it_refuses(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    theirs = built(every_kind_of_field(False), *args, **kwargs)
    ours = built(every_kind_of_field(True), *args, **kwargs)
    assert repr(ours) == repr(theirs)


def test_same_signature_and_fresh_defaults_from_factories() -> None:
    ours, theirs = every_kind_of_field(True), every_kind_of_field(False)
    assert str(inspect.signature(ours)) == str(inspect.signature(theirs))
    first, second = ours(1, "a"), ours(1, "a")
    assert first.listed == [] and first.listed is not second.listed
    assert first.made is not second.made


def test_still_frozen_and_replace_copy_pickle_work() -> None:
    record = every_kind_of_field(True)(1, "a", [2], named=5)
    with pytest.raises(FrozenInstanceError):
        record.required = 2
    with pytest.raises(FrozenInstanceError):
        del record.other
    changed = dataclasses.replace(record, required=3)
    assert (changed.required, changed.late, changed.named, changed.listed) == (3, 6, 5, [2])
    assert copy.copy(record) == record == copy.deepcopy(record)
    global PICKLED  # pickle finds a class by its module-level name
    PICKLED = every_kind_of_field(True)
    PICKLED.__qualname__ = "PICKLED"
    assert pickle.loads(pickle.dumps(PICKLED(1, "a"))) == PICKLED(1, "a")


def test_refuses_a_class_without_slots() -> None:
    @dataclass(frozen=True)
    class Plain:
        a: int

    with pytest.raises(TypeError, match="not a dataclass with slots"):
        direct_init(Plain)


@pytest.mark.parametrize("cls", RECORDS, ids=lambda cls: cls.__name__)
def test_the_records_derivation_builds_use_it(cls: type) -> None:
    assert any(name.startswith("_set_") for name in vars(cls)["__init__"].__code__.co_names)
    twin = dataclasses.make_dataclass(
        cls.__name__,
        [(f.name, f.type, _field_like(f)) for f in dataclasses.fields(cls)],
        frozen=True,
        slots=True,
    )
    assert str(inspect.signature(cls)) == str(inspect.signature(twin))


def _field_like(f: dataclasses.Field[Any]) -> Any:
    return field(
        default=f.default, default_factory=f.default_factory, init=f.init, kw_only=f.kw_only
    )


PICKLED: type = object
