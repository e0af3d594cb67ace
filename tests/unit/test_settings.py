"""Configuration: FACETAG_* settings and the Cloudinary API secret (environment or SSM)."""

import boto3
import cloudinary
import pytest
from botocore.stub import Stubber

from chalicelib import credentials, runtime
from chalicelib.settings import ENV_NAMES, ConfigError, Settings, from_env

# --- FACETAG_* settings --------------------------------------------------------------------


def test_defaults_without_any_variable():
    settings = from_env({})
    assert settings == Settings()
    assert settings.match_threshold == 90.0 and settings.signature_algorithm == "sha1"
    assert settings.include_folders == () and settings.cloudinary_secret_param is None


def test_blank_variables_mean_the_default():
    assert from_env({"FACETAG_MATCH_THRESHOLD": "  ", "FACETAG_COLLECTION_ID": ""}) == Settings()


def test_values_are_read_and_typed():
    settings = from_env({
        "FACETAG_MATCH_THRESHOLD": " 95.5 ", "FACETAG_CONCURRENCY": "8",
        "FACETAG_SIGNATURE_ALGORITHM": "sha256",
        "FACETAG_CLOUDINARY_SECRET_PARAM": "/facetag/prod/cloudinary-secret",
    })
    assert settings.match_threshold == 95.5 and settings.concurrency == 8
    assert settings.signature_algorithm == "sha256"
    assert settings.cloudinary_secret_param == "/facetag/prod/cloudinary-secret"


def test_folders_are_split_trimmed_and_stripped_of_slashes():
    settings = from_env({"FACETAG_INCLUDE_FOLDERS": " /events/ , people/staff,, / ",
                         "FACETAG_EXCLUDE_FOLDERS": "events/private"})
    assert settings.include_folders == ("events", "people/staff")
    assert settings.exclude_folders == ("events/private",)
    assert settings.folder_allowed("events/2026")
    assert not settings.folder_allowed("events/private/x")
    assert not settings.folder_allowed("eventsx")


@pytest.mark.parametrize("variable, value", [
    ("FACETAG_MATCH_THRESHOLD", "high"),
    ("FACETAG_MATCH_THRESHOLD", "101"),
    ("FACETAG_SUGGEST_THRESHOLD", "95"),
    ("FACETAG_CONCURRENCY", "2.5"),
    ("FACETAG_CONCURRENCY", "0"),
    ("FACETAG_COLLECTION_ID", "has space"),
    ("FACETAG_SIGNATURE_ALGORITHM", "md5"),
    ("FACETAG_SIGNATURE_WINDOW_S", "0"),
    ("FACETAG_SIGNATURE_MAX_FUTURE_S", "-1"),
    ("FACETAG_MAX_BODY_BYTES", "10"),
    ("FACETAG_DERIVATIVE_SIZE", "5000"),
    ("FACETAG_TRAINED_TAG", "a,b"),
    ("FACETAG_PERSON_TAG_PREFIX", "facetag:v-x"),
])
def test_each_error_names_its_variable(variable, value):
    with pytest.raises(ConfigError) as err:
        from_env({variable: value})
    assert variable in str(err.value)


def test_every_setting_has_a_facetag_variable():
    assert all(name.startswith("FACETAG_") for name in ENV_NAMES.values())
    assert ENV_NAMES["cloudinary_secret_param"] == "FACETAG_CLOUDINARY_SECRET_PARAM"


@pytest.mark.parametrize("variable, value", [
    ("FACETAG_MATCH_THRESHOLD", "92"), ("FACETAG_SUGGEST_THRESHOLD", "70"),
    ("FACETAG_MIN_FACE_PX", "60"), ("FACETAG_DERIVATIVE_SIZE", "1024"),
    ("FACETAG_COLLECTION_ID", "other"), ("FACETAG_PERSON_TAG_PREFIX", "who:"),
])
def test_version_changes_when_a_result_setting_changes(variable, value):
    assert from_env({variable: value}).fingerprint != Settings().fingerprint


def test_version_ignores_settings_that_do_not_change_results():
    assert from_env({"FACETAG_CONCURRENCY": "16"}).fingerprint == Settings().fingerprint
    assert Settings().marker_tag == "facetag:v-" + Settings().fingerprint


# --- the Cloudinary API secret -------------------------------------------------------------

SECRET_PARAM = "/facetag/test/cloudinary-secret"


@pytest.fixture
def cloudinary_env(monkeypatch):
    """A clean SDK configuration and a new container, from this test's environment."""
    for name in ("CLOUDINARY_URL", "CLOUDINARY_CLOUD_NAME", "CLOUDINARY_API_KEY",
                 "CLOUDINARY_API_SECRET", *ENV_NAMES.values()):
        monkeypatch.delenv(name, raising=False)
    runtime.reset()

    def configure(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        cloudinary.reset_config()

    yield configure
    monkeypatch.undo()
    cloudinary.reset_config()
    runtime.reset()


@pytest.fixture
def ssm(cloudinary_env):
    client = boto3.client("ssm", region_name="eu-west-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
    runtime.reset(ssm=client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def read_secret(settings: Settings) -> str:
    return credentials.read_secret(settings, runtime.ssm_client)


def test_secret_from_cloudinary_url(cloudinary_env):
    cloudinary_env(CLOUDINARY_URL="cloudinary://123456:url-secret@demo")
    assert read_secret(Settings()) == "url-secret"


def test_secret_from_separate_variables(cloudinary_env):
    cloudinary_env(CLOUDINARY_CLOUD_NAME="demo", CLOUDINARY_API_KEY="123456",
                   CLOUDINARY_API_SECRET="env-secret")
    assert read_secret(Settings()) == "env-secret"


def test_no_secret_source_names_the_variables(cloudinary_env):
    cloudinary_env(CLOUDINARY_CLOUD_NAME="demo", CLOUDINARY_API_KEY="123456")
    with pytest.raises(ConfigError) as err:
        read_secret(Settings())
    for name in ("CLOUDINARY_API_SECRET", "CLOUDINARY_URL", "FACETAG_CLOUDINARY_SECRET_PARAM"):
        assert name in str(err.value)


@pytest.mark.parametrize("variables", [
    {}, {"CLOUDINARY_CLOUD_NAME": "demo"}, {"CLOUDINARY_API_KEY": "123456"},
])
def test_missing_cloud_name_or_key_names_the_variables(cloudinary_env, variables):
    cloudinary_env(CLOUDINARY_API_SECRET="s", **variables)
    with pytest.raises(ConfigError) as err:
        read_secret(Settings())
    assert "CLOUDINARY_CLOUD_NAME" in str(err.value) and "CLOUDINARY_API_KEY" in str(err.value)


def test_secret_from_ssm_is_fetched_once_and_given_to_the_sdk_with_the_library(
        cloudinary_env, ssm):
    cloudinary_env(CLOUDINARY_CLOUD_NAME="demo", CLOUDINARY_API_KEY="123456",
                   FACETAG_CLOUDINARY_SECRET_PARAM=SECRET_PARAM)
    ssm.add_response(
        "get_parameter",
        {"Parameter": {"Name": SECRET_PARAM, "Type": "SecureString", "Value": "ssm-secret",
                       "Version": 3}},
        expected_params={"Name": SECRET_PARAM, "WithDecryption": True})
    assert runtime.secret() == "ssm-secret"
    assert runtime.secret() == "ssm-secret"  # kept: one stubbed call only
    assert cloudinary.config().api_secret is None  # reading the secret configures nothing
    runtime.media_library()
    assert cloudinary.config().api_secret == "ssm-secret"


def test_ssm_parameter_wins_over_an_environment_secret(cloudinary_env, ssm):
    cloudinary_env(CLOUDINARY_URL="cloudinary://123456:old-secret@demo")
    ssm.add_response("get_parameter", {"Parameter": {"Value": "rotated"}},
                     expected_params={"Name": SECRET_PARAM, "WithDecryption": True})
    assert read_secret(Settings(cloudinary_secret_param=SECRET_PARAM)) == "rotated"


def test_missing_ssm_parameter_names_the_variable(cloudinary_env, ssm):
    cloudinary_env(CLOUDINARY_CLOUD_NAME="demo", CLOUDINARY_API_KEY="123456")
    ssm.add_client_error("get_parameter", service_error_code="ParameterNotFound",
                         http_status_code=400)
    with pytest.raises(ConfigError) as err:
        read_secret(Settings(cloudinary_secret_param=SECRET_PARAM))
    assert "FACETAG_CLOUDINARY_SECRET_PARAM" in str(err.value) and SECRET_PARAM in str(err.value)


def test_other_ssm_failures_propagate_and_are_not_kept(cloudinary_env, ssm):
    cloudinary_env(CLOUDINARY_CLOUD_NAME="demo", CLOUDINARY_API_KEY="123456",
                   FACETAG_CLOUDINARY_SECRET_PARAM=SECRET_PARAM)
    ssm.add_client_error("get_parameter", service_error_code="ThrottlingException",
                         http_status_code=400)
    ssm.add_response("get_parameter", {"Parameter": {"Value": "later"}})
    with pytest.raises(Exception) as err:
        runtime.secret()
    assert not isinstance(err.value, ConfigError)
    assert runtime.secret() == "later"


def test_ssm_client_is_created_lazily_once(cloudinary_env, monkeypatch):
    created = []
    monkeypatch.setattr(boto3, "client",
                        lambda service: created.append(service) or object())
    first = runtime.ssm_client()
    assert runtime.ssm_client() is first and created == ["ssm"]
