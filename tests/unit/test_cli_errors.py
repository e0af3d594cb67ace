"""What the operator sees when something expected goes wrong: one sentence on stderr and exit
code 2 (usage, configuration, credentials, a missing collection) or 1 (a service failed or
refused); a bug keeps its traceback. The services' failures are the wrappers' own errors,
injected in the fakes; how a botocore or SDK error becomes one is tested with the wrappers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import cloudinary
import pytest

from chalicelib import runtime
from chalicelib.credentials import SecretUnavailable
from chalicelib.face_errors import (
    CollectionMissing,
    FacesMisconfigured,
    FacesUnavailable,
    LimitReached,
    Throttled,
)
from chalicelib.library_errors import (
    AssetGone,
    LibraryError,
    LibraryMisconfigured,
    LibraryUnavailable,
    RateLimited,
)
from chalicelib.settings import ENV_NAMES
from emulators.stack import kept_sdk_config
from facetag_cli.cli import main
from tests.unit.cli_support import FakeWiring, facetag, one_sentence

REKOGNITION = [
    (CollectionMissing("facetag"), 2,
     "the face collection 'facetag' does not exist: run `facetag init` to create it."),
    (FacesMisconfigured("no AWS credentials: set AWS_PROFILE or "
                        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"), 2,
     "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY."),
    (FacesMisconfigured("no AWS region: set AWS_DEFAULT_REGION (where the collection lives)"),
     2, "no AWS region: set AWS_DEFAULT_REGION (where the collection lives)."),
    (FacesMisconfigured("AWS refused the credentials (ExpiredTokenException: no)"), 2,
     "AWS refused the credentials (ExpiredTokenException: no)."),
    (FacesUnavailable("cannot reach Rekognition (Could not connect to the endpoint URL: "
                      '"http://127.0.0.1:1/")'), 1,
     'cannot reach Rekognition (Could not connect to the endpoint URL: "http://127.0.0.1:1/").'),
    (Throttled("ThrottlingException"), 1,
     "Rekognition is throttling (ThrottlingException) after botocore's retries."),
    (LimitReached("The user has 100 faces"), 1,
     "a Rekognition limit is reached (The user has 100 faces)."),
]
CLOUDINARY = [
    (LibraryMisconfigured("Cloudinary refused the credentials (Invalid Signature): check "
                          "CLOUDINARY_URL, or CLOUDINARY_API_KEY and CLOUDINARY_API_SECRET"), 2,
     ("Cloudinary refused the credentials (Invalid Signature): check CLOUDINARY_URL, or "
      "CLOUDINARY_API_KEY and CLOUDINARY_API_SECRET.")),
    (RateLimited(datetime(2026, 5, 1, 10, tzinfo=UTC)), 1,
     "Cloudinary's rate limit was reached; it resets on 2026-05-01 10:00:00 UTC."),
    (LibraryUnavailable("cannot reach Cloudinary (Socket Error: connection refused)"), 1,
     "cannot reach Cloudinary (Socket Error: connection refused)."),
    (AssetGone(), 1, "the asset no longer exists."),
    (LibraryError("Cloudinary refused the request (Bad trigger)"), 1,
     "Cloudinary refused the request (Bad trigger)."),
]


@pytest.mark.parametrize("error, code, sentence", REKOGNITION,
                         ids=[type(e).__name__ for e, _, _ in REKOGNITION])
def test_rekognition_failures_are_one_sentence(error: Exception, code: int,
                                               sentence: str) -> None:
    wiring = FakeWiring()
    wiring.faces.errors["ListUsers"] = error
    result = facetag(wiring, "people")
    assert result.exit_code == code
    assert one_sentence(result.stderr) == f"facetag: {sentence}"


def test_a_missing_collection_says_to_run_init() -> None:
    wiring = FakeWiring()
    wiring.faces.collection = False
    result = facetag(wiring, "people")
    assert result.exit_code == 2 and "run `facetag init`" in one_sentence(result.stderr)


@pytest.mark.parametrize("error, code, sentence", CLOUDINARY,
                         ids=[type(e).__name__ for e, _, _ in CLOUDINARY])
def test_cloudinary_failures_are_one_sentence(error: Exception, code: int,
                                              sentence: str) -> None:
    wiring = FakeWiring()
    wiring.library.errors["triggers"] = error
    result = facetag(wiring, "webhook", "list")
    assert result.exit_code == code
    assert one_sentence(result.stderr) == f"facetag: {sentence}"


def test_a_service_answer_over_several_lines_is_still_one_line() -> None:
    wiring = FakeWiring()
    wiring.library.errors["create_trigger"] = LibraryUnavailable(
        "Cloudinary answered an error (Server returned unexpected status code - 502 - "
        "<html>\n<h1>Bad Gateway</h1>\n</html>)")
    result = facetag(wiring, "webhook", "register", "https://facetag.example.com/hook")
    assert result.exit_code == 1
    assert one_sentence(result.stderr) == (
        "facetag: Cloudinary answered an error (Server returned unexpected status code - 502 - "
        "<html> <h1>Bad Gateway</h1> </html>).")


def test_a_bad_setting_names_the_variable() -> None:
    result = facetag(FakeWiring(environ={"FACETAG_MATCH_THRESHOLD": "150"}), "people")
    assert result.exit_code == 2
    assert one_sentence(result.stderr) == ("facetag: facetag is misconfigured: "
                                           "FACETAG_MATCH_THRESHOLD: must be between 0 and 100")


def test_a_usage_error_needs_no_configuration() -> None:
    result = facetag(FakeWiring(environ={"FACETAG_MATCH_THRESHOLD": "150"}),
                     "reconcile", "--since", "soon")
    assert result.exit_code == 2 and "misconfigured" not in result.stderr


def test_a_bug_is_not_disguised(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> list[str]:
        raise KeyError("UserId")

    wiring = FakeWiring()
    monkeypatch.setattr(wiring.faces, "users", broken)
    result = facetag(wiring, "people")
    assert isinstance(result.exception, KeyError) and "facetag:" not in result.stderr


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """The real entry point's environment: none of facetag's or Cloudinary's variables."""
    for name in ("CLOUDINARY_URL", "CLOUDINARY_CLOUD_NAME", "CLOUDINARY_API_KEY",
                 "CLOUDINARY_API_SECRET", *ENV_NAMES.values()):
        monkeypatch.delenv(name, raising=False)
    with kept_sdk_config():
        cloudinary.reset_config()
        runtime.reset()
        yield monkeypatch
        runtime.reset()


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


def test_the_entry_point_explains_an_unreadable_secret_store(
        environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def store_down() -> str:
        raise SecretUnavailable("SSM parameter '/facetag/cloudinary' could not be read "
                                "(ThrottlingException: Rate exceeded)")

    environment.setattr(runtime, "secret", store_down)
    with pytest.raises(SystemExit) as exited:
        main(["webhook", "list"])
    assert exited.value.code == 1
    assert one_sentence(capsys.readouterr().err) == (
        "facetag: SSM parameter '/facetag/cloudinary' could not be read "
        "(ThrottlingException: Rate exceeded).")


def test_help_needs_no_configuration(environment: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    environment.setenv("FACETAG_MATCH_THRESHOLD", "150")
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert all(c in out for c in ("init", "people", "reconcile", "rename", "webhook"))
