"""With `OTEL_EXPORTER_OTLP_ENDPOINT` set, `clarion serve` exports its spans
over OTLP/HTTP: a receiver in the test gets the trace of a notification."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support.processes import Server, admin_session, clean_env

pytestmark = pytest.mark.slow
ADMIN = {"email": "otlp@example.com", "password": "otlp export test password"}
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.spans: list[tuple[str, str, str]] = []  # (service, trace id, span name)
        self.paths: list[str] = []


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.server.paths.append(self.path)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            service = next(
                (
                    a.value.string_value
                    for a in resource_spans.resource.attributes
                    if a.key == "service.name"
                ),
                "",
            )
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    self.server.spans.append((service, span.trace_id.hex(), span.name))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_serve_exports_a_notifications_trace_over_otlp(tmp_path: Path, receiver: Receiver) -> None:
    env = clean_env(
        CLARION_ADMIN_EMAIL=ADMIN["email"],
        CLARION_ADMIN_PASSWORD=ADMIN["password"],
        CLARION_LOG_LEVEL="WARNING",
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{receiver.server_address[1]}",
        OTEL_SERVICE_NAME="clarion-under-test",
        OTEL_BSP_SCHEDULE_DELAY="200",
    )
    server = Server(tmp_path, env).start()
    try:
        headers, admin_id = admin_session(server.url, ADMIN)
        body = {
            "userId": admin_id,
            "channel": "EMAIL",
            "type": "TRANSACTIONAL",
            "payload": {"subject": "Exported", "body": "."},
        }
        traced = {**headers, "traceparent": f"00-{TRACE_ID}-b7ad6b7169203331-01"}
        created = httpx.post(f"{server.url}/notifications", headers=traced, json=body)
        assert created.status_code == 201, created.text
        deadline = time.monotonic() + 30
        wanted = {"POST /notifications", "publish notifications", "deliver EMAIL", "send sandbox"}
        names: set[str] = set()
        while time.monotonic() < deadline and not wanted <= names:
            time.sleep(0.2)
            names = {name for _, trace, name in receiver.spans if trace == TRACE_ID}
        assert wanted <= names, names
        assert {service for service, _, _ in receiver.spans} == {"clarion-under-test"}
        assert set(receiver.paths) == {"/v1/traces"}
    finally:
        server.stop()
