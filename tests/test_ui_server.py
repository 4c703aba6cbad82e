"""The web UI's server side on the collector: pages, assets, security headers, the login form.

A real collector (in-process, free loopback ports) with the UI extension, asked over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from ui_fixtures import EventReader

from otel_bridge.collector import Collector
from otel_bridge.ui import collector_ui

TOKEN = 's3cret;tok"en'  # printable ASCII with the characters a cookie value cannot hold
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; frame-ancestors 'self'; base-uri 'none'; "
    "form-action 'self'"
)
HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[httpx.Client]:
    """A client of a collector with a token and the web UI (no redirects followed)."""
    with (
        Collector(tmp_path / "spans.db", token=TOKEN, extension=collector_ui) as running,
        httpx.Client(base_url=running.http_url, timeout=10) as client,
    ):
        yield client


@pytest.fixture
def open_ui(tmp_path: Path) -> Iterator[httpx.Client]:
    """A client of a collector without a token, with the web UI."""
    with (
        Collector(tmp_path / "spans.db", extension=collector_ui) as running,
        httpx.Client(base_url=running.http_url, timeout=10) as client,
    ):
        yield client


def login(client: httpx.Client, token: str, target: str = "/") -> httpx.Response:
    return client.post("/login", data={"token": token, "next": target})


def test_pages_without_the_token_go_to_the_login_form(guarded: httpx.Client) -> None:
    for path in ("/", "/runs/0af7651916cd43dd8448eb211c80319c", "/sessions/s-1", "/diff"):
        answer = guarded.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/login?next=" + path.replace("/", "%2F")
    answer = guarded.get("/compare?a=task%3Dt1&b=task%3Dt2", headers=HTML)
    assert (
        answer.headers["location"] == "/login?next=%2Fcompare%3Fa%3Dtask%253Dt1%26b%3Dtask%253Dt2"
    )
    # Any GET asking for HTML goes to the form; the API's JSON answers stay 401.
    assert guarded.get("/api/traces", headers=HTML).status_code == 303
    refused = guarded.get("/api/traces")
    assert refused.status_code == 401
    assert refused.json() == {
        "error": "missing or wrong bearer token (Authorization: Bearer <token>)"
    }
    assert guarded.post("/v1/traces", content=b"", headers={"Content-Type": "application/json"}
    ).status_code == 401  # fmt: skip


def test_the_login_form_and_its_assets_need_no_token(guarded: httpx.Client) -> None:
    form = guarded.get("/login", params={"next": "/runs/x"})
    assert form.status_code == 200
    assert 'name="token"' in form.text
    assert TOKEN not in form.text
    assert form.headers["content-security-policy"] == CSP
    assert guarded.get("/healthz").status_code == 200
    assert guarded.get("/static/login.html").status_code == 200
    assert guarded.get("/static/index.html").status_code == 401
    assert guarded.get("/static/index.html", headers=HTML).status_code == 303
    # The public prefix /static/login.* leads nowhere else.
    sneaky = guarded.get("/static/login.x/%2e%2e/index.html")
    assert sneaky.status_code == 404 and "No such file." in sneaky.text


def test_a_wrong_token_is_kept_out(guarded: httpx.Client) -> None:
    answer = login(guarded, "not-it", "/runs/abc")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fruns%2Fabc&failed=1"
    assert "set-cookie" not in answer.headers
    # A cookie with another value is no key either.
    forged = guarded.get("/", headers={**HTML, "Cookie": "otel_bridge_token=not-it"})
    assert forged.status_code == 303
    assert guarded.get("/api/traces", headers={"Cookie": "otel_bridge_token=x"}).status_code == 401


def test_the_right_token_sets_an_httponly_strict_cookie(guarded: httpx.Client) -> None:
    answer = login(guarded, TOKEN, "/runs/abc?x=1")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/runs/abc?x=1"
    cookie = answer.headers["set-cookie"]
    assert cookie == ("otel_bridge_token=s3cret%3Btok%22en; HttpOnly; SameSite=Strict; Path=/")
    assert "Secure" not in cookie
    jar = {"Cookie": cookie.split(";")[0]}
    page = guarded.get("/", headers={**HTML, **jar})
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-security-policy"] == CSP
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-cache"
    assert guarded.get("/api/traces", headers=jar).json() == {"traces": [], "next_cursor": None}
    # The bearer header still works alone.
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert guarded.get("/runs/abc", headers=bearer).status_code == 200
    # The live event stream takes the cookie too (EventSource sends it).
    with EventReader(str(guarded.base_url).rstrip("/"), headers=jar) as reader:
        _, name, _ = reader.next()
        assert name == "hello"


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example/", "/\\evil.example", "evil", "", "/\x00x"],
)
def test_login_never_redirects_off_the_host(guarded: httpx.Client, target: str) -> None:
    answer = login(guarded, TOKEN, target)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"


def test_every_page_path_answers_the_same_page(open_ui: httpx.Client) -> None:
    index = open_ui.get("/").text
    assert "<html" in index
    for path in ("/runs/nope", "/sessions/a%2Fb", "/diff?a=1&b=2", "/compare?a=&b="):
        answer = open_ui.get(path)
        assert answer.status_code == 200, path
        assert answer.text == index
    # Without a token, the login form only sends the browser home.
    assert open_ui.get("/login").headers["location"] == "/"


@pytest.mark.parametrize(
    "path",
    [
        "/static/%2e%2e/__init__.py",
        "/static/..%2f__init__.py",
        "/static/../__init__.py",
        "/static/.hidden",
        "/static/",
        "/static/nope.js",
        "/static/index.html/",
    ],
)
def test_assets_come_from_the_static_folder_only(open_ui: httpx.Client, path: str) -> None:
    answer = open_ui.get(path)
    assert answer.status_code == 404, path
    assert "No such file." in answer.text or "No such page: /__init__.py" in answer.text
    assert '<a href="/" target="_top">Back to the runs</a>' in answer.text
    assert answer.headers["content-security-policy"] == CSP


def test_an_unknown_path_is_a_page_or_json_saying_so(open_ui: httpx.Client) -> None:
    page = open_ui.get("/nowhere/<script>", headers=HTML)
    assert page.status_code == 404
    assert "No such page: /nowhere/&lt;script&gt;" in page.text
    api = open_ui.get("/api/nowhere")
    assert api.status_code == 404
    assert api.json() == {"error": "no such route: GET /api/nowhere"}
    # A route asked with another method is still a 405.
    assert open_ui.get("/v1/traces").status_code == 405
    assert open_ui.post("/api/traces").status_code == 405


def test_an_asset_is_served_with_its_type(open_ui: httpx.Client) -> None:
    answer = open_ui.get("/static/login.html")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert answer.headers["cache-control"] == "no-cache"
    assert answer.headers["x-content-type-options"] == "nosniff"
