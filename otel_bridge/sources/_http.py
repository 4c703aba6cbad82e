"""HTTP plumbing shared by the remote sources: one client, errors translated at the boundary.

Every httpx error becomes a ``SourceError`` that names the URL and says what to do: the backend
is unreachable, timed out, broke its answer off, refused the token (401/403) or failed (5xx).
A 404 is returned to the caller, which knows whether it means an unknown trace, project or
route.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from ..errors import SourceError

__all__ = ["DEFAULT_TIMEOUT_S", "client_for", "get", "json_of"]

DEFAULT_TIMEOUT_S = 30.0


@contextmanager
def client_for(
    token: str | None, client: httpx.Client | None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> Iterator[httpx.Client]:
    """The caller's client, or a new one with ``Authorization: Bearer <token>`` when given."""
    if client is not None:
        yield client
        return
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(headers=headers, timeout=timeout_s) as own:
        yield own


def get(
    client: httpx.Client,
    url: str,
    *,
    params: httpx.QueryParams | Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """GET; SourceError unless the answer is 2xx or 404."""
    try:
        response = client.get(url, params=params, headers=headers)
    except httpx.TimeoutException as exc:
        raise SourceError(f"{url}: timed out ({type(exc).__name__})") from exc
    except httpx.RemoteProtocolError as exc:  # e.g. a streamed answer the server broke off
        raise SourceError(f"{url}: the answer was cut short ({exc}); try again") from exc
    except httpx.TransportError as exc:
        reason = str(exc) or type(exc).__name__
        raise SourceError(f"{url}: cannot connect ({reason}); is it running?") from exc
    if response.status_code in (401, 403):
        raise SourceError(
            f"{url}: {response.status_code} {response.reason_phrase}: "
            "the server wants a (different) token; pass token=... or --token"
        )
    if response.status_code != 404 and not response.is_success:
        raise SourceError(
            f"{url}: {response.status_code} {response.reason_phrase}: {_snippet(response)}"
        )
    return response


def json_of(response: httpx.Response) -> Any:
    """The JSON body; SourceError when it is not JSON."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(f"{response.request.url}: not JSON: {_snippet(response)}") from exc


def _snippet(response: httpx.Response, limit: int = 200) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:limit] + ("..." if len(text) > limit else "") or "(empty body)"
