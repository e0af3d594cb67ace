"""Shared fixtures (the local stack's servers, the test photos) and markers by folder.

Each test's kind is its folder: `unit` (in-memory fakes and stubs, seconds), `properties`
(thousands of generated hostile requests through the route, on fakes), `standins` (the local
Rekognition and Cloudinary servers through their real clients), `e2e` (the app on the whole
local stack). The marker of the folder is added to every test in it, so `pytest -m unit` runs
the fast tests alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures_rekognition",
    "tests.fixtures_cloudinary",
    "tests.fixtures_stack",
    "tests.fixtures_aws",
]

KINDS = ("unit", "properties", "standins", "e2e")
TESTS_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        kind = item.path.relative_to(TESTS_DIR).parts[0]
        if kind in KINDS:
            item.add_marker(getattr(pytest.mark, kind))
