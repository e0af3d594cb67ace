"""`facetag queue` and `facetag queue redrive` on fakes."""

from __future__ import annotations

import json

import pytest

from chalicelib.queues import Depth, QueueMissing, Received
from tests.unit.cli_support import FakeWiring, facetag, one_sentence

LIVE, LIVE_DLQ = "facetag-live.fifo", "facetag-live-dlq.fifo"
BACKFILL, BACKFILL_DLQ = "facetag-backfill.fifo", "facetag-backfill-dlq.fifo"


def stack() -> FakeWiring:
    wiring = FakeWiring()
    wiring.fake_queue(LIVE).dead_letter = LIVE_DLQ
    wiring.fake_queue(BACKFILL).dead_letter = BACKFILL_DLQ
    wiring.fake_queue("facetag-scan").dead_letter = "facetag-scan-dlq"
    return wiring


def dead(wiring: FakeWiring, dlq: str, count: int) -> list[Received]:
    held = [Received(f"m{i}", f"body {i}", f"r{i}", f"asset-{i}") for i in range(count)]
    wiring.fake_queue(dlq).held = list(held)
    return held


def test_queue_prints_each_queue_s_depths_dead_letters_and_oldest_age() -> None:
    wiring = stack()
    wiring.fake_queue(LIVE).level = Depth(3, 10, 1)
    dead(wiring, BACKFILL_DLQ, 2)
    wiring.ages[LIVE] = 75.0
    result = facetag(wiring, "queue")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["live", "3", "10", "1", "0", "1m", "15s"]
    assert lines[2].split() == ["backfill", "0", "0", "0", "2", "unknown"]
    assert lines[3].split()[0] == "scan"


def test_queue_json_gives_the_figures_and_none_for_an_unknown_age() -> None:
    wiring = stack()
    rows = json.loads(facetag(wiring, "queue", "--json").stdout)
    assert [r["queue"] for r in rows] == ["live", "backfill", "scan"]
    assert rows[0]["dead_letter_queue"] == LIVE_DLQ and rows[0]["oldest_age_s"] is None


def test_redrive_moves_each_dead_letter_back_in_its_group_and_deletes_it_after() -> None:
    wiring = stack()
    held = dead(wiring, LIVE_DLQ, 12)
    result = facetag(wiring, "queue", "redrive", "--queue", "live")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"live: moved 12 messages from {LIVE_DLQ} back to {LIVE}."
    assert wiring.fake_queue(LIVE).resent == held  # bodies and groups as they were
    assert wiring.fake_queue(LIVE_DLQ).held == []


def test_redrive_max_moves_at_most_that_many_across_the_queues() -> None:
    wiring = stack()
    dead(wiring, LIVE_DLQ, 3)
    dead(wiring, BACKFILL_DLQ, 3)
    result = facetag(wiring, "queue", "redrive", "--max", "4")
    assert len(wiring.fake_queue(LIVE).resent) == 3
    assert len(wiring.fake_queue(BACKFILL).resent) == 1
    assert len(wiring.fake_queue(BACKFILL_DLQ).held) == 2
    assert "backfill: moved 1 messages" in result.stdout


def test_a_refused_resend_leaves_the_message_in_the_dead_letter_queue() -> None:
    wiring = stack()
    dead(wiring, LIVE_DLQ, 2)
    wiring.fake_queue(LIVE).down = True
    result = facetag(wiring, "queue", "redrive", "--queue", "live")
    assert result.exit_code == 1 and one_sentence(result.stderr).startswith("facetag: SQS:")
    assert len(wiring.fake_queue(LIVE_DLQ).held) == 2


def test_a_queue_without_a_dead_letter_queue_is_said_so() -> None:
    result = facetag(FakeWiring(), "queue", "redrive", "--queue", "scan")
    assert result.exit_code == 0 and "facetag-scan has no dead-letter queue" in result.stderr


def test_a_missing_queue_is_a_configuration_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    wiring = FakeWiring()

    def missing() -> Depth:
        raise QueueMissing(f"there is no queue named {LIVE}")
    monkeypatch.setattr(wiring.fake_queue(LIVE), "depth", missing)
    result = facetag(wiring, "queue")
    assert result.exit_code == 2
    assert "infra/queues.json" in one_sentence(result.stderr)
