"""Which code derives a RunTrace: a digest of otel-bridge's modules and of the prices it bundles.

A RunTrace kept for later (the collector keeps each run it derived) is reused only by code with
the same digest, so a change of otel-bridge or of genai-prices never serves a run derived
the old way: it is derived again.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import metadata
from pathlib import Path

__all__ = ["derivation_code"]

_PACKAGE = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def derivation_code() -> str:
    """16 hex characters naming this installation's derivation (read once per process)."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    try:
        prices = metadata.version("genai-prices")
    except metadata.PackageNotFoundError:  # pragma: no cover - a dependency of the package
        prices = "none"
    digest.update(f"genai-prices {prices}".encode())
    return digest.hexdigest()[:16]
