"""Each test prices its models from scratch, as a fresh process would (import the fixture).

Prices are memoised per process (a model's genai-prices entry, a price's linear rates, a
user's rates): without this, what a test asserts about a cost would be computed by whichever
earlier test priced that model first, and a test run alone could differ from the suite.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from otel_bridge.derivation import _cost

__all__ = ["prices_not_memoised"]


@pytest.fixture(autouse=True)
def prices_not_memoised() -> Iterator[None]:
    """The price memos emptied before the test."""
    _cost._genai_rates_cache.clear()
    _cost._genai_model.cache_clear()
    _cost._user_rates.cache_clear()
    yield
