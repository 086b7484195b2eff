"""Read what `schemathesis run` wrote: the JSON run report for the figures, the
NDJSON event stream for each failing case, grouped by operation and check."""

from __future__ import annotations

import base64
import json
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class FailureGroup:
    """One check failing on one operation: how often, what schemathesis said,
    and a reproduction for each distinct answer of the server (up to three)."""

    operation: str
    check: str
    title: str
    cases: int = 0
    message: str = ""
    examples: dict[str, str] = field(default_factory=dict)  # answer -> curl

    def describe(self) -> str:
        lines = [f"{self.operation} | {self.check} | {self.title} | {self.cases} case(s)"]
        lines.append(f"    {self.message}")
        for answer, curl in self.examples.items():
            lines += [f"    -> {answer}", f"       {curl}"]
        return "\n".join(lines)


@dataclass
class RunReport:
    operations_tested: int
    operations_selected: int
    cases_generated: int
    failures: list[FailureGroup]
    errors: list[str]
    exit_code: int

    @classmethod
    def read(cls, directory: Path) -> RunReport:
        run = json.loads(next(directory.glob("*.json")).read_text())
        return cls(
            operations_tested=run["operations"]["tested"],
            operations_selected=run["operations"]["selected"],
            cases_generated=run["test_cases"]["generated"],
            failures=group_failures(next(directory.glob("*.ndjson"))),
            errors=[json.dumps(error)[:500] for error in run.get("errors", [])],
            exit_code=run["exit_code"],
        )

    def summary(self) -> str:
        return (
            f"{self.operations_tested}/{self.operations_selected} operations tested, "
            f"{self.cases_generated} cases generated, {len(self.failures)} distinct failures"
        )


def group_failures(events: Path) -> list[FailureGroup]:
    groups: dict[tuple[str, str, str], FailureGroup] = {}
    for check, failure, interaction in failing_checks(events):
        key = (failure["operation"], check, failure["title"])
        group = groups.setdefault(key, FailureGroup(*key))
        group.cases += 1
        group.message = group.message or " / ".join(failure["message"].splitlines()[:2])[:200]
        if interaction is not None and len(group.examples) < 3:
            reply = answer(interaction["response"])
            group.examples.setdefault(reply, as_curl(interaction["request"]))
    return sorted(groups.values(), key=lambda g: (g.operation.split(" ")[-1], g.operation, g.check))


def answer(response: dict[str, Any] | None) -> str:
    if response is None:
        return "no response"
    content = response.get("content") or {}
    body = base64.b64decode(content["$base64"]).decode("utf-8", "replace") if content else ""
    return f"{response['status_code']} {body[:240]}"


def failing_checks(events: Path) -> Iterator[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    for line in events.read_text().splitlines():
        scenario = json.loads(line).get("ScenarioFinished")
        if scenario is None:
            continue
        recorder = scenario["recorder"]
        interactions = recorder.get("interactions") or {}
        for case_id, checks in (recorder.get("checks") or {}).items():
            for check in checks:
                if check["status"] == "failure":
                    failure = check["failure_info"]["failure"]
                    yield check["name"], failure, interactions.get(case_id)


def as_curl(request: dict[str, Any]) -> str:
    parts = ["curl", "-X", request["method"]]
    for name, values in request.get("headers", {}).items():
        value = "Bearer $TOKEN" if name.lower() == "authorization" else values[0]
        parts += ["-H", f"{name}: {value}"]
    body = request.get("body")
    if isinstance(body, dict):  # bytes, as base64
        body = base64.b64decode(body["$base64"]).decode("utf-8", "backslashreplace")
    if body is not None:
        parts += ["--data-binary", body[:600]]
    parts.append(request["uri"])
    return shlex.join(parts)
