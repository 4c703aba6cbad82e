"""The demo's Phoenix hint names the project's page once Phoenix has stored the project."""

from __future__ import annotations

import httpx

from otel_bridge.cli._demo_next import _phoenix_project_id

BASE = "http://127.0.0.1:6006"


def _phoenix(answers: list[int]) -> tuple[httpx.Client, list[str]]:
    """A client whose Phoenix answers the project lookups with ``answers``, then 200."""
    asked: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.raw_path.decode())
        status = answers[len(asked) - 1] if len(asked) <= len(answers) else 200
        if status == 200:
            return httpx.Response(200, json={"data": {"id": "UHJvamVjdDoy", "name": "p a"}})
        return httpx.Response(status, text="Not found" if status == 404 else "boom")

    return httpx.Client(transport=httpx.MockTransport(handle)), asked


def test_a_project_phoenix_has_not_stored_yet_is_asked_for_again() -> None:
    client, asked = _phoenix([404, 404])
    assert _phoenix_project_id(client, BASE, "p a", wait_s=2.0) == "UHJvamVjdDoy"
    assert asked == ["/v1/projects/p%20a"] * 3


def test_a_project_that_never_appears_gives_the_project_list_after_the_wait() -> None:
    client, asked = _phoenix([404] * 100)
    assert _phoenix_project_id(client, BASE, "p", wait_s=0.35) is None
    assert 2 <= len(asked) <= 5


def test_an_error_other_than_not_found_is_not_waited_for() -> None:
    client, asked = _phoenix([500])
    assert _phoenix_project_id(client, BASE, "p", wait_s=2.0) is None
    assert len(asked) == 1
