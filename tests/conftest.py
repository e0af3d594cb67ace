"""Shared fixtures: the local stack's servers and the test photos."""

pytest_plugins = [
    "tests.fixtures_rekognition",
    "tests.fixtures_cloudinary",
    "tests.fixtures_stack",
]
