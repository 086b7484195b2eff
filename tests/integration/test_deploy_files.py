"""The alert rules and the Grafana dashboard under deploy/: valid for
Prometheus's own checker, and reading only metrics Clarion serves."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "clarion.json"
# a name directly followed by a selector, a range or `by`: a metric, never a function
METRIC = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?=\{|\[)")
PROMETHEUS_OWN = {"up"}


def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is installed by the test command (scripts/test-tools)"
    return found


def expressions() -> list[str]:
    found = [
        panel_target["expr"]
        for panel in json.loads(DASHBOARD.read_text())["panels"]
        for panel_target in panel["targets"]
    ]
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        found += [rule["expr"] for rule in group["rules"]]
    return found


def served_names(exposition: str) -> set[str]:
    """Every sample name the exposition's TYPE lines promise."""
    names: set[str] = set()
    for line in exposition.splitlines():
        if not line.startswith("# TYPE "):
            continue
        _, _, name, kind = line.split(" ", 3)
        suffixes = {
            "counter": ("_total", "_created"),
            "histogram": ("_bucket", "_count", "_sum", "_created"),
            "summary": ("_count", "_sum", "_created"),
        }.get(kind, ("",))
        # the text format names a counter with its `_total` already
        names |= {name, *(name.removesuffix("_total") + suffix for suffix in suffixes)}
    return names


def test_promtool_accepts_the_rules_and_their_unit_tests() -> None:
    checked = subprocess.run(
        [promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [promtool(), "test", "rules", "alerts.test.yml"],
        cwd=RULES.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


async def test_the_dashboard_and_the_rules_read_only_served_metrics(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    served = served_names(response.text) | PROMETHEUS_OWN
    read = {name for expr in expressions() for name in METRIC.findall(expr)}
    assert len(read) > 15  # the pattern finds the metrics at all
    assert read - served == set()
