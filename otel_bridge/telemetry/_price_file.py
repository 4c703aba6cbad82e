"""A user's price table read from a file (JSON, TOML or YAML), for a Telemetry or the CLI.

Reading and parsing the file happens here, with the user's settings; what the parsed table
means and whether it is valid is derivation's (``parse_price_table``), which does no I/O.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..derivation import ModelPrice, parse_price_table
from ..errors import ConfigError

__all__ = ["load_price_table"]


def load_price_table(path: str | Path) -> dict[str, ModelPrice]:
    """Read a price table from a .json, .toml, .yaml or .yml file (``ConfigError`` if bad)."""
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in (".json", ".toml", ".yaml", ".yml"):
        raise ConfigError(f"{file}: a price table must be a .json, .toml, .yaml or .yml file")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read the price table: {exc}") from exc
    try:
        if suffix == ".json":
            data = json.loads(text, parse_float=Decimal)
        elif suffix == ".toml":
            data = _load_toml(file, text)
        else:
            data = _load_yaml(file, text)
    except ValueError as exc:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise ConfigError(f"{file}: not valid {suffix[1:].upper()}: {exc}") from exc
    return parse_price_table(data, str(file))


def _load_toml(file: Path, text: str) -> Any:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError:
            raise ConfigError(f"{file}: reading TOML needs Python 3.11+ or tomli") from None
    return tomllib.loads(text, parse_float=Decimal)


def _load_yaml(file: Path, text: str) -> Any:
    try:
        import yaml
    except ImportError:
        raise ConfigError(f"{file}: reading YAML needs PyYAML (pip install pyyaml)") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        message = " ".join(str(exc).split())
        raise ConfigError(f"{file}: not valid YAML: {message}") from exc
