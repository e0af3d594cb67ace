"""What the operator sees when something expected goes wrong: one sentence on stderr and exit
code 2 (usage, configuration, credentials) or 1 (a service failed); a bug keeps its traceback."""

from __future__ import annotations

from collections.abc import Iterator

import cloudinary
import cloudinary.exceptions as cld
import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)

from chalicelib import runtime
from chalicelib.settings import ENV_NAMES
from facetag_cli.cli import main
from tests.unit.cli_support import CollectionMissing, FakeWiring, facetag, one_sentence


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}}, "ListUsers")


REKOGNITION = [
    (CollectionMissing(), 2, "the face collection does not exist"),
    (NoCredentialsError(), 2, "no AWS credentials: set AWS_PROFILE"),
    (NoRegionError(), 2, "no AWS region: set AWS_DEFAULT_REGION"),
    (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), 2, "cannot reach Rekognition"),
    (client_error("AccessDeniedException"), 2, "AWS refused the credentials"),
    (client_error("ExpiredTokenException"), 2, "AWS refused the credentials"),
    (client_error("ThrottlingException"), 1, "Rekognition answered ThrottlingException: no"),
]
CLOUDINARY = [
    (cld.AuthorizationRequired("Invalid Signature"), 2, "Cloudinary refused the credentials"),
    (cld.RateLimited("Try again on 2026-05-01 10:00:00 UTC"), 1,
     "Cloudinary's Admin API rate limit is used up"),
    (cld.GeneralError("Socket Error: connection refused"), 2, "cannot reach Cloudinary"),
    (cld.NotFound("Resource not found"), 1, "Cloudinary answered: Resource not found"),
]


@pytest.mark.parametrize("error, code, sentence", REKOGNITION,
                         ids=[type(e).__name__ for e, _, _ in REKOGNITION])
def test_rekognition_failures_are_one_sentence(error: Exception, code: int,
                                               sentence: str) -> None:
    wiring = FakeWiring()
    wiring.faces.failure = error
    result = facetag(wiring, "people")
    assert result.exit_code == code
    assert one_sentence(result.stderr).startswith(f"facetag: {sentence}")


def test_a_missing_collection_says_to_run_init() -> None:
    wiring = FakeWiring()
    wiring.faces.exists = False
    result = facetag(wiring, "people")
    assert result.exit_code == 2 and "run `facetag init`" in one_sentence(result.stderr)


@pytest.mark.parametrize("error, code, sentence", CLOUDINARY,
                         ids=[type(e).__name__ for e, _, _ in CLOUDINARY])
def test_cloudinary_failures_are_one_sentence(error: Exception, code: int,
                                              sentence: str) -> None:
    wiring = FakeWiring()
    wiring.cloudinary.failure = error
    result = facetag(wiring, "webhook", "list")
    assert result.exit_code == code
    assert one_sentence(result.stderr).startswith(f"facetag: {sentence}")


def test_a_bad_setting_names_the_variable() -> None:
    result = facetag(FakeWiring(environ={"FACETAG_MATCH_THRESHOLD": "150"}), "people")
    assert result.exit_code == 2
    assert one_sentence(result.stderr) == ("facetag: facetag is misconfigured: "
                                           "FACETAG_MATCH_THRESHOLD: must be between 0 and 100")


def test_a_usage_error_needs_no_configuration() -> None:
    result = facetag(FakeWiring(environ={"FACETAG_MATCH_THRESHOLD": "150"}),
                     "reconcile", "--since", "soon")
    assert result.exit_code == 2 and "misconfigured" not in result.stderr


def test_a_bug_is_not_disguised() -> None:
    wiring = FakeWiring()
    wiring.faces.failure = KeyError("UserId")
    result = facetag(wiring, "people")
    assert isinstance(result.exception, KeyError) and "facetag:" not in result.stderr


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """The real entry point's environment: none of facetag's or Cloudinary's variables."""
    for name in ("CLOUDINARY_URL", "CLOUDINARY_CLOUD_NAME", "CLOUDINARY_API_KEY",
                 "CLOUDINARY_API_SECRET", *ENV_NAMES.values()):
        monkeypatch.delenv(name, raising=False)
    previous = cloudinary.config().__dict__.copy()
    cloudinary.reset_config()
    runtime.reset()
    yield monkeypatch
    runtime.reset()
    cloudinary.config().__dict__.clear()
    cloudinary.config().__dict__.update(previous)


def test_the_entry_point_reads_the_environment_and_exits_with_the_code(
        environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    environment.setenv("FACETAG_MATCH_THRESHOLD", "150")
    with pytest.raises(SystemExit) as exited:
        main(["people"])
    assert exited.value.code == 2
    assert "FACETAG_MATCH_THRESHOLD" in one_sentence(capsys.readouterr().err)


def test_the_entry_point_explains_missing_cloudinary_credentials(
        environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["webhook", "list"])
    assert exited.value.code == 2
    assert "set CLOUDINARY_URL" in one_sentence(capsys.readouterr().err)


def test_help_needs_no_configuration(environment: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    environment.setenv("FACETAG_MATCH_THRESHOLD", "150")
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert all(c in out for c in ("init", "people", "reconcile", "rename", "webhook"))
