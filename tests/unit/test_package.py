"""The Lambda zip holds only what Lambda needs (scripts/check_package.py), on zip listings.

Packaging each stage for real with `chalice package` is in tests/e2e/test_package_stages.py.
"""

from __future__ import annotations

import pytest

from scripts.check_package import runtime_top_levels, zip_problems

RUNTIME = ["app.py", "chalicelib/__init__.py", "chalicelib/tagging.py", "chalice/__init__.py",
           "chalice/app.py", "cloudinary/__init__.py", "urllib3/__init__.py", "six.py"]


def test_runtime_dependencies_come_from_requirements() -> None:
    tops = runtime_top_levels()
    assert {"cloudinary", "urllib3", "six", "certifi"} <= tops
    assert not {"boto3", "botocore", "numpy", "dlib", "chalice"} & tops


def test_a_clean_listing_passes() -> None:
    assert zip_problems(RUNTIME, runtime_top_levels()) == []


@pytest.mark.parametrize("intruder", ["emulators/stack.py", "tests/photos.py", "numpy/__init__.py",
                                      "PIL/Image.py", "botocore/client.py", "scripts/demo.py"])
def test_development_components_are_refused(intruder: str) -> None:
    problems = zip_problems([*RUNTIME, intruder], runtime_top_levels())
    assert problems and "development components" in problems[0]


@pytest.mark.parametrize("intruder", ["facetag_cli/cli.py", "facetag_cli/__init__.py",
                                      "click/core.py"])
def test_the_operator_cli_is_refused(intruder: str) -> None:
    problems = zip_problems([*RUNTIME, intruder], runtime_top_levels())
    assert problems == [f"operator CLI code in the zip: ['{intruder.split('/')[0]}']"]


def test_unknown_packages_and_the_chalice_cli_are_refused() -> None:
    problems = zip_problems([*RUNTIME, "requests/__init__.py", "chalice/cli/__init__.py"],
                            runtime_top_levels())
    assert problems == ["not a runtime dependency: ['requests']",
                        "Chalice beyond its runtime: ['chalice/cli/__init__.py']"]
