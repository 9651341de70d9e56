"""The alert rules are valid Prometheus rules (`promtool check rules`) and do what their unit
tests say (`promtool test rules`); promtool comes from Debian's `prometheus` package (tools/setup).

Which metrics the rules and the dashboard may name is checked twice: statically here
(test_manifests: names that appear in the Rust sources) and against the /metrics exposition of
the running services in services/strata-api/tests/product_flow.rs.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

import manifests as m

ALERTS = m.K8S / "components" / "monitoring" / "alerts.yaml"
UNIT_TESTS = Path(__file__).parent / "promtool" / "strata-alerts.test.yaml"


def promtool() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    message = "promtool not found (apt-get install prometheus, or run tools/setup)"
    if os.environ.get("CI", "") not in ("", "false"):
        pytest.fail(f"{message}; CI must not skip the alert checks")
    pytest.skip(message)


def rules_dir(tmp_path: Path, alerts_text: str) -> Path:
    """The PrometheusRule's spec as the plain rule file promtool reads, next to the unit tests."""
    rule = yaml.safe_load(alerts_text)
    assert rule["kind"] == "PrometheusRule"
    (tmp_path / "strata-rules.yaml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}, sort_keys=False))
    shutil.copy(UNIT_TESTS, tmp_path / UNIT_TESTS.name)
    return tmp_path


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def test_rules_are_valid_and_pass_their_unit_tests(tmp_path):
    tool = promtool()
    d = rules_dir(tmp_path, ALERTS.read_text())
    checked = run(tool, "check", "rules", str(d / "strata-rules.yaml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = run(tool, "test", "rules", str(d / UNIT_TESTS.name))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_has_a_unit_test():
    alerts = {r["alert"] for g in yaml.safe_load(ALERTS.read_text())["spec"]["groups"]
              for r in g["rules"] if "alert" in r}
    tested = {t["alertname"] for case in yaml.safe_load(UNIT_TESTS.read_text())["tests"]
              for t in case.get("alert_rule_test", [])}
    assert alerts - tested == set()
    assert {"StrataApiErrorRate", "StrataLatencyBudgetBurnFast", "StrataInferenceQueueSaturated",
            "StrataTrainingJobsFailing", "StrataNoReadyReplica"} <= alerts


def test_a_broken_rule_fails_the_check(tmp_path):
    tool = promtool()
    broken = ALERTS.read_text().replace("> 0.05\n          for: 10m", "> > 0.05\n          for: 10m", 1)
    assert broken != ALERTS.read_text()
    checked = run(tool, "check", "rules", str(rules_dir(tmp_path, broken) / "strata-rules.yaml"))
    assert checked.returncode != 0


def test_a_changed_threshold_fails_the_unit_tests(tmp_path):
    tool = promtool()
    changed = ALERTS.read_text().replace("strata_inference_queue_capacity) > 0.8", "strata_inference_queue_capacity) > 0.9")
    assert changed != ALERTS.read_text()
    tested = run(tool, "test", "rules", str(rules_dir(tmp_path, changed) / UNIT_TESTS.name))
    assert tested.returncode != 0, tested.stdout
