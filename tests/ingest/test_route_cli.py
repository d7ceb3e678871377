"""``alertmesh route`` as a user runs it (a subprocess): alerts, every rule's verdict, the triggers; no server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alertmesh.samples import sample
from alertmesh.stack.embedded import free_port
from services.ingest.defaults import ROUTING_FILE
from services.shared.kafka import KafkaSettings
from services.shared.matchers import parse_matchers
from services.shared.silences import Silences
from services.shared.topics import TopicSettings
from tests.conftest import REPO

FAN_OUT = """\
default: drop
routes:
  - name: audit
    workflow: audit
    continue: true
  - name: prod-only
    when: ${{ TRIGGER.alert.labels.env == 'prod' }}
    workflow: page
  - name: probes
    match:
      severity: ">= high"
      any:
        - labels.job: http_checks
        - labels.team: {present: true}
    workflow: triage
    inputs: {team: sre}
"""


def route(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "alertmesh.cli", "route", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO, env=env)


def test_the_demo_routing_and_sample_print_alert_verdicts_and_the_trigger() -> None:
    done = route(sample("alertmanager-v4-firing.json"))
    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    assert lines[0] == f"routing file {ROUTING_FILE}: 4 rules, default dead-letter"
    assert (
        "alert 1/1: 'ProbeFailure' (source alertmanager, format alertmanager.v4, status firing, severity critical, "
        "fingerprint 1a30ba71cca2921f)"
    ) in lines
    assert "    - playbook        labels.playbook is absent; wanted labels.playbook == 'triage'" in lines
    assert "    + critical        matched -> workflow triage" in lines
    assert "    - catch-all       not tried: rule 'critical' matched first and has no 'continue: true'" in lines
    assert lines[-2:] == [
        "triggers (1):",
        "  triage  (rule critical)  key triage:alertmanager:1a30ba71cca2921f:firing:20230206T130845.828Z  "
        'inputs {"page": true, "team": "on-call"}',
    ]


def test_fan_out_file_and_source_give_two_triggers(tmp_path: Path) -> None:
    rules = tmp_path / "routing.yaml"
    rules.write_text(FAN_OUT)
    done = route("--routing", rules, sample("alertmanager-v4-firing.json"), "--source", "prom-eu")
    assert (done.returncode, done.stderr) == (0, "")
    out = done.stdout
    assert "source prom-eu, format alertmanager.v4" in out
    assert "    + audit      matched -> workflow audit, continue\n" in out
    assert (
        "    - prod-only  when ${{ TRIGGER.alert.labels.env == 'prod' }} failed: "
        "'${{ TRIGGER.alert.labels.env == 'prod' }}': no key 'env' in alert.labels\n"
    ) in out
    assert "    + probes     matched -> workflow triage\n" in out
    assert out.endswith(
        "triggers (2):\n"
        "  audit  (rule audit)  key audit:prom-eu:1a30ba71cca2921f:firing:20230206T130845.828Z  inputs {}\n"
        "  triage  (rule probes)  key triage:prom-eu:1a30ba71cca2921f:firing:20230206T130845.828Z  "
        'inputs {"team": "sre"}\n'
    )


def test_no_match_says_dead_letter_or_drop_and_the_exit_code_tells(tmp_path: Path) -> None:
    rules = tmp_path / "routing.yaml"
    rules.write_text("routes:\n  - {name: only-resolved, match: {status: resolved}, workflow: w}\n")
    done = route("--routing", rules, sample("cloudevents-structured.json"))
    assert done.returncode == 1
    assert "    - only-resolved  status is 'firing'; wanted status == 'resolved'\n" in done.stdout
    assert done.stdout.endswith(
        "triggers (0):\ndead letter (route): no route matches alert 'Suspicious PowerShell download cradle' "
        "(source=/edr/sensor/host-42, status=firing, severity=high, fingerprint=e5b6818a398ea2de)\n"
    )
    rules.write_text("default: drop\n" + rules.read_text())
    dropped = route("--routing", rules, sample("cloudevents-structured.json"))
    assert dropped.returncode == 1  # unrouted, though the file says drop: the exit code says it was not routed
    assert "dropped (default: drop): no route matches alert 'Suspicious PowerShell download cradle'" in dropped.stdout


def test_a_bad_routing_file_prints_file_line_col_and_exits_2(tmp_path: Path) -> None:
    rules = tmp_path / "routing.yaml"
    rules.write_text("routes:\n  - name: r\n    workflow: w\n    match: {severity: '>= urgent'}\n")
    done = route("--routing", rules, sample("alertmanager-v4-firing.json"))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [
        "invalid routing file (1 problem):",
        f"{rules}:4:23: routes.0.match: severity: 'urgent' is not on the severity scale; "
        "use one of info, low, medium, high, critical",
    ]


def test_the_routing_file_defaults_to_ingest_s_setting(tmp_path: Path) -> None:
    rules = tmp_path / "elsewhere.yaml"
    rules.write_text(FAN_OUT)
    done = route(sample("alertmanager-v4-firing.json"), env={**os.environ, "INGEST_ROUTING_FILE": str(rules)})
    assert done.stdout.startswith(f"routing file {rules}: 3 rules, default drop\n")


def test_an_unparseable_payload_is_the_parse_dead_letter(tmp_path: Path) -> None:
    payload = tmp_path / "junk.json"
    payload.write_text("12")
    done = route(payload)
    assert done.returncode == 1
    assert done.stdout.endswith("triggers (0):\ndead letter (parse): not a JSON object or array: got a JSON int\n")
    assert route(tmp_path / "absent.json").returncode == 2


def test_headers_carry_a_binary_mode_cloudevent(tmp_path: Path) -> None:
    payload = tmp_path / "data.json"
    payload.write_text('{"title": "Ransomware note dropped", "severity": "critical", "host": "db-1"}')
    headers = ["ce_specversion=1.0", "ce_type=com.example.edr.detection", "ce_source=/edr/x", "ce_id=42"]
    done = route(payload, *[part for header in headers for part in ("--header", header)], "--source", "edr")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "alert 1/1: 'Ransomware note dropped' (source edr, format cloudevents, status firing, severity critical" in (
        done.stdout
    )
    assert "    + critical        matched -> workflow triage\n" in done.stdout
    bad = route(payload, "--header", "no-separator")
    assert (bad.returncode, bad.stderr) == (
        2,
        "--header 'no-separator': write NAME:VALUE (an HTTP header, e.g. 'ce-type: com.example.alert') or "
        "NAME=VALUE (a Kafka header, e.g. ce_type=com.example.alert)\n",
    )


WINDOWED = """
time_intervals:
  - name: weekends
    time_intervals: [{weekdays: [saturday, sunday]}]
routes:
  - name: weekdays
    match: {status: firing}
    workflow: triage
    mute_time_intervals: [weekends]
"""


def test_at_decides_time_windows_at_the_given_record_time(tmp_path: Path) -> None:
    rules = tmp_path / "routing.yaml"
    rules.write_text(WINDOWED)
    saturday = route("--routing", rules, sample("alertmanager-v4-firing.json"), "--at", "2026-12-05T12:00:00Z")
    assert "outside its time windows: muted by time interval 'weekends'" in saturday.stdout
    monday = route("--routing", rules, sample("alertmanager-v4-firing.json"), "--at", "2026-12-07T12:00:00")
    assert "passes, goes out now" in monday.stdout
    assert route("--routing", rules, sample("alertmanager-v4-firing.json"), "--at", "monday").returncode == 2


@pytest.mark.integration
async def test_live_decides_against_the_running_mesh_s_silences(kafka_bootstrap: str, tmp_path: Path) -> None:
    topics = TopicSettings.tagged(uuid.uuid4().hex[:8])
    silences = Silences(KafkaSettings(bootstrap_servers=kafka_bootstrap), topics.silences)
    await silences.start()
    try:
        now = datetime.now(UTC)
        created = await silences.create(
            parse_matchers('alertname="ProbeFailure"'), now, now + timedelta(hours=1), "op", "disk swap", now=now
        )
    finally:
        await silences.stop()
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, **topics.env()}
    done = await asyncio.to_thread(route, sample("alertmanager-v4-firing.json"), "--live", env=env)
    assert f"muted: silenced by {created.id}; held until that ends while it fires" in done.stdout, done.stdout
    unreachable = {**env, "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}", "KAFKA_REQUEST_TIMEOUT_MS": "2000"}
    refused = await asyncio.to_thread(route, sample("alertmanager-v4-firing.json"), "--live", env=unreachable)
    assert refused.returncode == 2 and "--live: cannot read the silences and alerts from Kafka" in refused.stderr
