"""``--prices FILE``: a user's price table for the commands that derive runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..derivation import ModelPrice
from ..telemetry import load_price_table

__all__ = ["prices_option"]

F = TypeVar("F", bound=Callable[..., Any])


def _load(
    ctx: click.Context, param: click.Parameter, value: Path | None
) -> dict[str, ModelPrice] | None:
    return None if value is None else load_price_table(value)


def prices_option(command: F) -> F:
    """Add ``--prices FILE``: the command receives ``prices`` (model -> ModelPrice, or None)."""
    return click.option(
        "--prices",
        type=click.Path(path_type=Path, dir_okay=False),
        callback=_load,
        help="Your prices (JSON, TOML or YAML: model -> input_mtok, output_mtok, "
        "cached_input_mtok, reasoning_mtok, USD per million tokens); they override "
        "genai-prices' for the models they name.",
    )(command)
