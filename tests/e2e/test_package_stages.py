"""`chalice package` of each stage, offline, within the zip budget, with its queues, event
sources and policies as the queued pipeline needs them (scripts/check_package.py).

An integration check rather than a unit test: it runs the Chalice CLI in a subprocess, which
builds a real deployment zip and template on disk (about a second per stage). The checks it
applies to what it finds are unit-tested in tests/unit/test_package.py.
"""

from __future__ import annotations

import pytest

from scripts.check_package import MAX_ZIP_BYTES, check


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_stage_packages_offline_within_budget(stage: str) -> None:
    checked = check(stage)
    assert checked.problems == []
    assert 0 < checked.size < MAX_ZIP_BYTES
