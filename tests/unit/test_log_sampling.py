"""Log sampling (decided once per request, so its lines stay together) and
redaction, through the API's correlation middleware and our logging set-up."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from clarion.api.observe import ObserveRequests
from clarion.observability.context import keeps_notification
from clarion.observability.logging import get_logger
from tests.support.logs import LogLines, json_logs

log = get_logger("tests.sampling")
library = logging.getLogger("some.library")
REQUEST_EVENTS = ["chatty.debug", "chatty.info", "library line", "http.request"]


async def chatty(request: Request) -> PlainTextResponse:
    log.debug("chatty.debug")
    log.info("chatty.info")
    library.info("library line")
    if "fail" in request.query_params:
        log.error("chatty.failed")
        log.info("chatty.after_failure")
        return PlainTextResponse("no", status_code=500)
    return PlainTextResponse("ok")


APP = ObserveRequests(Starlette(routes=[Route("/", chatty)]))


async def get(path: str, correlation_id: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        return await http.get(path, headers={"X-Correlation-ID": correlation_id})


@pytest.fixture
def quiet() -> Iterator[LogLines]:
    with json_logs(sample_rate=0.0, level="DEBUG") as lines:
        yield lines


async def test_at_zero_an_error_is_still_logged_and_so_is_the_rest_of_its_request(
    quiet: LogLines,
) -> None:
    await get("/?fail", "failing-1")
    await get("/", "fine-1")
    events = [line["event"] for line in quiet.of("failing-1")]
    assert events == ["chatty.failed", "chatty.after_failure", "http.request"]
    [access] = quiet.events("http.request")
    assert (access["level"], access["status"]) == ("error", 500)
    assert quiet.of("fine-1") == []


def test_at_zero_lines_outside_any_request_are_kept(quiet: LogLines) -> None:
    log.info("app.started")
    library.info("server listening")
    assert [(line["event"], line["level"]) for line in quiet.all()] == [
        ("app.started", "info"),
        ("server listening", "info"),
    ]


async def test_at_one_every_line_is_written() -> None:
    with json_logs(sample_rate=1.0, level="DEBUG") as lines:
        answer = await get("/", "all-1")
    assert answer.headers["X-Correlation-ID"] == "all-1"
    written = lines.of("all-1")
    assert [line["event"] for line in written] == REQUEST_EVENTS
    assert written[2]["logger"] == "some.library"
    assert written[3]["method"] == "GET"
    assert written[3]["status"] == 200
    assert written[3]["duration_ms"] >= 0


async def test_a_requests_lines_are_kept_or_dropped_together() -> None:
    with json_logs(sample_rate=0.5, level="DEBUG") as lines:
        for i in range(200):
            await get("/", f"r-{i}")
    kept = [[line["event"] for line in lines.of(f"r-{i}")] for i in range(200)]
    assert all(events in ([], REQUEST_EVENTS) for events in kept)
    assert 50 < sum(1 for events in kept if events) < 150


async def test_the_level_still_applies_to_sampled_requests() -> None:
    with json_logs(sample_rate=1.0, level="WARNING") as lines:
        await get("/", "warn-1")
        await get("/?fail", "warn-2")
    assert lines.of("warn-1") == []
    assert [line["event"] for line in lines.of("warn-2")] == ["chatty.failed", "http.request"]


def test_a_notification_has_one_decision_and_the_rate_is_kept() -> None:
    with json_logs(sample_rate=0.25):
        ids = [uuid.uuid4() for _ in range(4000)]
        first = [keeps_notification(i) for i in ids]
        again = [keeps_notification(i) for i in ids]
    assert first == again
    assert 800 < sum(first) < 1200


def test_values_under_secret_looking_keys_are_redacted_at_any_depth() -> None:
    with json_logs(sample_rate=1.0) as lines:
        log.info(
            "request.seen",
            password="hunter2",
            headers={"Authorization": "Bearer abc", "X-API-Key": "key-1", "Accept": "json"},
            user={"name": "Ann", "credentials": {"apiKey": "key-2", "refresh_token": "t-1"}},
            entries=[{"Cookie": "session=s-1"}, {"kind": "plain"}],
            client_secret="s-2",
            count=3,
        )
    [line] = lines.all()
    assert line["password"] == "[redacted]"
    assert line["client_secret"] == "[redacted]"
    assert line["headers"] == {
        "Authorization": "[redacted]",
        "X-API-Key": "[redacted]",
        "Accept": "json",
    }
    assert line["user"] == {
        "name": "Ann",
        "credentials": {"apiKey": "[redacted]", "refresh_token": "[redacted]"},
    }
    assert line["entries"] == [{"Cookie": "[redacted]"}, {"kind": "plain"}]
    assert line["count"] == 3
    for secret in ("hunter2", "abc", "key-1", "key-2", "t-1", "s-1", "s-2"):
        assert secret not in lines.text()
