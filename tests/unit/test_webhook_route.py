"""POST /webhooks/cloudinary through Chalice's test client: every answer the route can give, and
exactly the messages it queues (it reads no asset and calls no service but SQS)."""

import hashlib
import json
import logging
import os
import time
from pathlib import Path

import pytest
from chalice.test import Client

import app as app_module
from chalicelib import runtime
from chalicelib.assets import AssetRef
from chalicelib.intake import forwarded_work
from chalicelib.logs import JsonFormatter
from chalicelib.messages import MESSAGE_BYTES, Forwarded, Process, decode
from chalicelib.notifications import Actor, ContextChanged, TagsChanged
from chalicelib.queues import QueueUnavailable
from chalicelib.settings import ENV_NAMES, ConfigError, Settings
from chalicelib.tagging import Tagger
from tests.fakes import FakeFaces, FakeLibrary

PROJECT_DIR = str(Path(__file__).resolve().parents[2])
SECRET = "test-secret-do-not-log"
PATH = "/webhooks/cloudinary"

UPLOAD = {
    "notification_type": "upload", "asset_id": "0a1b2c", "public_id": "events/IMG_0042",
    "version": 1777888000, "resource_type": "image", "type": "upload", "format": "jpg",
    "tags": ["train:Jane Doe"], "context": {"custom": {"person": "Jane Doe"}},
    "asset_folder": "events",
    "notification_context": {"triggered_by": {"source": "ui", "id": "u-123"}},
}


def sign(body: bytes, timestamp: str, algorithm: str = "sha1", secret: str = SECRET) -> str:
    """What Cloudinary sends: hex SHA(body + timestamp + API secret)."""
    return hashlib.new(algorithm, body + timestamp.encode() + secret.encode()).hexdigest()


def signed_headers(body: bytes, age_s: int = 0, algorithm: str = "sha1") -> dict[str, str]:
    timestamp = str(int(time.time()) - age_s)
    return {"Content-Type": "application/json", "X-Cld-Timestamp": timestamp,
            "X-Cld-Signature": sign(body, timestamp, algorithm)}


def encode(payload: object) -> bytes:
    return json.dumps(payload).encode()


@pytest.fixture
def stores(monkeypatch):
    """Fakes where the app would find its face store and media library: the route uses neither."""
    faces, library = FakeFaces(), FakeLibrary()
    tagger = Tagger(Settings(), faces, library)
    monkeypatch.setattr(runtime, "face_index", lambda: faces)
    monkeypatch.setattr(runtime, "media_library", lambda: library)
    monkeypatch.setattr(runtime, "tagger", lambda: tagger)
    monkeypatch.setattr(runtime, "paced_tagger", lambda rate: tagger)
    return faces, library


@pytest.fixture
def queued(monkeypatch, stores):
    """Messages sent to the live queue; the secret and settings are the test's own."""
    recorded = []
    for variable in ENV_NAMES.values():
        monkeypatch.delenv(variable, raising=False)
    runtime.reset()  # settings read again from this test's env
    monkeypatch.setattr(runtime, "enqueue", recorded.extend)
    monkeypatch.setattr(runtime, "secret", lambda: SECRET)
    monkeypatch.setattr(runtime, "newer_secret", lambda: None)  # not rotated
    yield recorded
    faces, library = stores
    assert faces.requests == [] and library.requests == []
    runtime.reset()


def items(messages):
    return [item for message in messages for item in message.items]


def origin(body: bytes) -> str:
    return "notification:" + hashlib.sha256(body).hexdigest()[:32]


@pytest.fixture
def client(queued):
    with Client(app_module.app, stage_name="dev", project_dir=PROJECT_DIR) as test_client:
        yield test_client


def post(client, body: bytes, headers: dict[str, str]):
    return client.http.post(PATH, body=body, headers=headers)


# --- 200 -----------------------------------------------------------------------------------

def test_a_signed_upload_is_queued_as_one_message_in_its_assets_group(client, queued):
    body = encode(UPLOAD)
    response = post(client, body, signed_headers(body))
    assert response.status_code == 200
    assert response.json_body == {"queued": 1, "outcomes": {"queued": 1}}
    [message] = queued
    # What happened and the notification's identity, never the asset's state.
    assert message.items == (Process(AssetRef("0a1b2c", "events/IMG_0042"), 1777888000),)
    assert message.origin == origin(body)
    assert message.group_id == "0a1b2c"


def test_the_same_notification_again_gives_the_same_deduplication_id(client, queued):
    body = encode(UPLOAD)
    for _ in range(2):
        assert post(client, body, signed_headers(body)).status_code == 200
    first, again = queued
    assert first.deduplication_id == again.deduplication_id


def test_each_resource_of_a_tag_change_is_queued_in_its_own_message(client, queued):
    body = encode({"notification_type": "resource_tags_changed", "resources": [
        {"asset_id": "a1", "public_id": "p1", "added": ["train:Jo"]},
        {"asset_id": "v1", "public_id": "clip", "resource_type": "video", "added": ["x"]},
        {"asset_id": "a2", "public_id": "p2", "removed": ["person:Jo"]},
    ]})
    response = post(client, body, signed_headers(body))
    assert response.status_code == 200
    assert response.json_body == {"queued": 2, "outcomes": {"queued": 2, "ignored": 1},
                                  "reasons": ["v1 is not an image (video)"]}
    assert [m.items for m in queued] == [
        (TagsChanged(AssetRef("a1", "p1"), ("train:Jo",), (), Actor()),),
        (TagsChanged(AssetRef("a2", "p2"), (), ("person:Jo",), Actor()),),
    ]
    assert [m.group_id for m in queued] == ["a1", "a2"]


def test_a_context_change_of_the_training_key_is_queued(client, queued):
    body = encode({"notification_type": "resource_context_changed", "resources": {
        "p1": {"asset_id": "a1", "added": [{"name": "person", "value": "Jo"}]}}})
    assert post(client, body, signed_headers(body)).json_body["queued"] == 1
    assert items(queued) == [ContextChanged(AssetRef("a1", "p1"), {"person": "Jo"}, (),
                                            Actor())]


def test_a_bulk_edit_of_a_thousand_assets_is_forwarded_whole_in_one_message_answered_in_brief(
        client, queued):
    body = encode({"notification_type": "resource_tags_changed", "resources": [
        {"asset_id": f"a{i}", "public_id": f"p{i}", "removed": ["person:Jo", "holiday"]}
        for i in range(1000)]})
    response = post(client, body, signed_headers(body))
    assert response.status_code == 200
    assert response.json_body == {"queued": 1000, "outcomes": {"forwarded": 1000}}
    [message] = queued
    assert message.forwarded == Forwarded(body) and len(message.encoded) < len(body) / 5
    assert message.group_id.startswith("chunk-") and message.origin == origin(body)
    read, settled = forwarded_work(decode(message.encoded), Settings())
    assert read is not None and settled == [] and read.bulk_edit
    assert [i.ref.asset_id for i in read.items] == [f"a{i}" for i in range(1000)]
    assert {i.removed for i in read.items} == {("person:Jo",)}  # only what facetag acts on


def test_a_bulk_edit_too_large_to_forward_even_compressed_is_queued_as_its_items(
        client, queued):
    names = [f"person:{os.urandom(100).hex()}" for _ in range(2000)]  # barely compressible
    body = encode({"notification_type": "resource_tags_changed", "resources": [
        {"asset_id": f"a{i}", "public_id": f"p{i}", "removed": [name, "holiday"]}
        for i, name in enumerate(names)]})
    response = post(client, body, signed_headers(body))
    assert response.json_body == {"queued": 2000, "outcomes": {"queued": 2000}}
    assert len(queued) > 1 and all(len(m.encoded) <= MESSAGE_BYTES for m in queued)
    assert [t for i in items(queued) for t in i.removed] == names


def test_a_hostile_change_of_a_thousand_long_names_is_queued_within_sqs_limits(client, queued):
    names = [f"person:{i:05d}" + "x" * 243 for i in range(1000)]  # 255 characters each
    body = encode({"notification_type": "resource_tags_changed", "resources": [
        {"asset_id": "a1", "public_id": "p1", "added": ["facetag:skip", "x" * 255],
         "removed": names + ["y" * 255 for _ in range(1000)] + ["person:" + "z" * 300]}]})
    response = post(client, body, signed_headers(body))
    assert response.status_code == 200
    assert response.json_body == {"queued": 1, "outcomes": {"queued": 1}}
    assert len(queued) == 2 and all(len(m.encoded) <= MESSAGE_BYTES for m in queued)
    pieces = items(queued)
    assert [t for p in pieces for t in p.removed] == names  # the others concern no one
    assert all(p.ref == AssetRef("a1", "p1") and p.added == ("facetag:skip",) for p in pieces)
    assert {m.group_id for m in queued} == {"a1"}


def test_a_bulk_edits_log_line_names_its_first_assets_and_their_count(client, queued, caplog):
    caplog.set_level(logging.INFO)
    body = encode({"notification_type": "resource_tags_changed", "resources": [
        {"asset_id": f"a{i}", "public_id": f"p{i}", "removed": ["person:Jo"]}
        for i in range(1000)]})
    assert post(client, body, signed_headers(body)).status_code == 200
    [line] = [json.loads(JsonFormatter().format(r)) for r in caplog.records
              if r.name == "facetag.webhook"]
    assert line["asset_ids"] == [f"a{i}" for i in range(10)] and line["assets"] == 1000
    assert line["queued"] == 1000 and line["outcomes"] == {"forwarded": 1000}
    [metrics] = [r for r in caplog.records if r.name == "facetag.metrics"]
    assert metrics.asset_ids == line["asset_ids"] and metrics.assets == 1000


def test_a_deletion_is_answered_and_left_to_reconciliation(client, queued):
    body = encode({"notification_type": "delete", "resources": [
        {"asset_id": "a1", "public_id": "p1"}, {"asset_id": "a2", "public_id": "p2"}]})
    response = post(client, body, signed_headers(body))
    assert response.status_code == 200
    assert response.json_body == {"queued": 0, "outcomes": {"deferred": 1}, "reasons": [
        "deferred: faces of 2 deleted assets leave at the next reconciliation"]}
    assert queued == []


@pytest.mark.parametrize("change", [
    {"added": ["person:Jo", "facetag:v-1234"]},  # facetag's own write, echoed back
    {"added": ["holiday"], "removed": ["draft"]},
])
def test_a_tag_change_facetag_does_not_act_on_is_answered_without_queueing(client, queued,
                                                                            change):
    body = encode({"notification_type": "resource_tags_changed",
                   "resources": [{"asset_id": "a1", "public_id": "p1", **change}]})
    response = post(client, body, signed_headers(body))
    assert response.json_body == {"queued": 0, "outcomes": {"ignored": 1},
                                  "reasons": ["ignored: no change facetag acts on"]}
    assert queued == []


def test_an_upload_that_opted_out_is_answered_without_queueing(client, queued):
    body = encode({**UPLOAD, "tags": ["facetag:skip"]})
    response = post(client, body, signed_headers(body))
    assert response.json_body == {"queued": 0, "outcomes": {"skipped": 1},
                                  "reasons": ["skipped: tagged facetag:skip"]}
    assert queued == []


@pytest.mark.parametrize("header_case", [str.lower, str.upper, lambda h: h])
def test_headers_are_accepted_in_any_case(client, queued, header_case):
    body = encode(UPLOAD)
    headers = {header_case(k): v for k, v in signed_headers(body).items()}
    assert post(client, body, headers).status_code == 200
    assert len(queued) == 1


def test_sha256_signatures_when_configured(client, queued, monkeypatch):
    monkeypatch.setenv("FACETAG_SIGNATURE_ALGORITHM", "sha256")
    body = encode(UPLOAD)
    assert post(client, body, signed_headers(body, algorithm="sha256")).status_code == 200
    sha1 = post(client, body, signed_headers(body, algorithm="sha1"))
    assert sha1.status_code == 403 and "wrong length" in sha1.json_body["error"]
    assert len(queued) == 1


def test_content_type_with_charset_is_accepted(client, queued):
    body = encode(UPLOAD)
    headers = {**signed_headers(body), "Content-Type": "application/json; charset=utf-8"}
    assert post(client, body, headers).status_code == 200


@pytest.mark.parametrize("payload, reason", [
    ({"notification_type": "create_folder", "folder_path": "x"}, "does not concern facetag"),
    ({**UPLOAD, "resource_type": "video"}, "not an image"),
    ({**UPLOAD, "resource_type": "raw"}, "not an image"),
    ({"notification_type": "resource_tags_changed", "resources": []}, "no assets"),
])
def test_irrelevant_notifications_are_acknowledged_and_ignored(client, queued, payload,
                                                                reason):
    body = encode(payload)
    response = post(client, body, signed_headers(body))
    assert response.status_code == 200
    assert reason in response.json_body["ignored"]
    assert queued == []


# --- 401 / 403: no work done ---------------------------------------------------------------

@pytest.mark.parametrize("drop", [("X-Cld-Timestamp",), ("X-Cld-Signature",),
                                  ("X-Cld-Timestamp", "X-Cld-Signature")])
def test_unsigned_requests_are_unauthorised(client, queued, drop):
    body = encode(UPLOAD)
    headers = {k: v for k, v in signed_headers(body).items() if k not in drop}
    response = post(client, body, headers)
    assert response.status_code == 401
    assert queued == []


def test_empty_signature_header_counts_as_missing(client, queued):
    body = encode(UPLOAD)
    response = post(client, body, {**signed_headers(body), "X-Cld-Signature": ""})
    assert response.status_code == 401


BODY = encode(UPLOAD)


def with_signature(value):
    return lambda headers: {**headers, "X-Cld-Signature": value(headers)}


def with_timestamp(value):
    return lambda headers: {**headers, "X-Cld-Timestamp": value(headers["X-Cld-Timestamp"])}


@pytest.mark.parametrize("change, reason", [
    (with_signature(lambda h: "0" * 40), "mismatch"),
    (with_signature(lambda h: sign(BODY, h["X-Cld-Timestamp"], secret="other")), "mismatch"),
    (with_signature(lambda h: h["X-Cld-Signature"][:-1]), "wrong length"),
    (with_signature(lambda h: h["X-Cld-Signature"] + "0"), "wrong length"),
    (with_signature(lambda h: "z" * 40), "not lowercase hex"),
    (with_signature(lambda h: h["X-Cld-Signature"].upper()), "not lowercase hex"),
    (with_timestamp(lambda ts: ts + ".0"), "malformed timestamp"),
    (with_timestamp(lambda ts: "-" + ts), "malformed timestamp"),
    (with_timestamp(lambda ts: "+" + ts), "malformed timestamp"),
    (with_timestamp(lambda ts: "9" * 40), "malformed timestamp"),
    (with_timestamp(lambda ts: "1e9"), "malformed timestamp"),
    (with_timestamp(lambda ts: "\u0661\u0667\u0660\u0660"), "malformed timestamp"),
], ids=["zeros", "other-secret", "short", "long", "not-hex", "upper-case-hex", "float",
        "negative", "plus", "huge", "exponent", "arabic-digits"])
def test_forged_or_malformed_signatures_are_forbidden(client, queued, change, reason):
    response = post(client, BODY, change(signed_headers(BODY)))
    assert response.status_code == 403
    assert reason in response.json_body["error"]
    assert queued == []


def test_timestamp_changed_after_signing_is_refused(client, queued):
    headers = signed_headers(BODY, age_s=10)
    headers["X-Cld-Timestamp"] = str(int(headers["X-Cld-Timestamp"]) + 5)
    assert post(client, BODY, headers).status_code == 403
    assert queued == []


def test_body_reserialised_after_signing_is_refused(client, queued):
    headers = signed_headers(BODY)
    reserialised = json.dumps(json.loads(BODY), separators=(",", ":")).encode()
    assert reserialised != BODY
    response = post(client, reserialised, headers)
    assert response.status_code == 403 and "mismatch" in response.json_body["error"]
    assert queued == []


def test_signatures_older_than_the_window_are_stale(client, queued):
    response = post(client, BODY, signed_headers(BODY, age_s=7201))
    assert response.status_code == 403 and "stale" in response.json_body["error"]
    assert post(client, BODY, signed_headers(BODY, age_s=7000)).status_code == 200


def test_window_follows_the_setting(client, queued, monkeypatch):
    monkeypatch.setenv("FACETAG_SIGNATURE_WINDOW_S", "60")
    assert post(client, BODY, signed_headers(BODY, age_s=90)).status_code == 403
    assert post(client, BODY, signed_headers(BODY, age_s=30)).status_code == 200


def test_signatures_from_the_future_are_refused(client, queued):
    response = post(client, BODY, signed_headers(BODY, age_s=-600))
    assert response.status_code == 403 and "future" in response.json_body["error"]
    assert post(client, BODY, signed_headers(BODY, age_s=-60)).status_code == 200
    assert len(queued) == 1


def test_body_that_is_not_utf8_is_refused(client, queued):
    body = b'{"notification_type": "upload", "x": "\xff"}'
    response = post(client, body, signed_headers(body))
    assert response.status_code == 403 and "UTF-8" in response.json_body["error"]


def test_empty_secret_fails_closed(client, queued, monkeypatch):
    monkeypatch.setattr(runtime, "secret", lambda: "")
    body = encode(UPLOAD)
    headers = signed_headers(body)
    headers["X-Cld-Signature"] = hashlib.sha1(body + headers["X-Cld-Timestamp"].encode()) \
        .hexdigest()  # what a signature with an empty secret would be
    assert post(client, body, headers).status_code == 403
    assert queued == []


# --- 400 / 413 -----------------------------------------------------------------------------

@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"upload"', b"{}",
                                  b'{"notification_type": 5}'])
def test_signed_but_malformed_bodies_are_bad_requests(client, queued, body):
    response = post(client, body, signed_headers(body))
    assert response.status_code == 400
    assert "error" in response.json_body
    assert queued == []


def test_oversized_bodies_are_refused_before_checking_anything(client, queued,
                                                               monkeypatch):
    monkeypatch.setenv("FACETAG_MAX_BODY_BYTES", "1024")
    body = encode({**UPLOAD, "padding": "x" * 1024})
    assert post(client, body, signed_headers(body)).status_code == 413
    assert post(client, body, {"Content-Type": "application/json"}).status_code == 413
    assert queued == []


# --- 500 / 503 -----------------------------------------------------------------------------

@pytest.mark.parametrize("error", [QueueUnavailable("facetag-live.fifo: throttled"),
                                   RuntimeError("connection reset")])
def test_a_failed_send_answers_503_and_logs_the_asset(client, monkeypatch, caplog, error):
    def failing(messages):
        raise error

    monkeypatch.setattr(runtime, "enqueue", failing)
    caplog.set_level(logging.INFO, logger="facetag.webhook")
    response = post(client, BODY, signed_headers(BODY))
    assert response.status_code == 503
    [record] = [r for r in caplog.records if r.name == "facetag.webhook"]
    line = json.loads(JsonFormatter().format(record))
    assert line["asset_ids"] == ["0a1b2c"] and line["failed_asset_ids"] == ["0a1b2c"]
    assert line["outcome"] == "failed" and line["status"] == 503
    assert str(error) in line["error"]


def test_one_log_line_per_notification_without_secrets(client, caplog):
    caplog.set_level(logging.INFO, logger="facetag.webhook")
    headers = signed_headers(BODY)
    assert post(client, BODY, headers).status_code == 200
    assert post(client, BODY, {**headers, "X-Cld-Signature": "0" * 40}).status_code == 403
    records = [r for r in caplog.records if r.name == "facetag.webhook"]
    lines = [JsonFormatter().format(r) for r in records]
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["notification_type"] == "upload" and first["outcome"] == "queued"
    assert first["queued"] == 1
    assert isinstance(first["ms"], int)
    assert second["outcome"] == "rejected" and second["reason"] == "mismatch"
    for line in lines:
        assert SECRET not in line and headers["X-Cld-Signature"] not in line
        assert "Jane Doe" not in line  # nothing of the body beyond ids and type


def misconfigured_reasons(caplog) -> list[str]:
    return [r.reason for r in caplog.records
            if r.name == "facetag.webhook" and r.outcome == "misconfigured"]


def test_settings_error_is_a_plain_500_naming_the_variable_in_the_log_only(
        client, queued, monkeypatch, caplog):
    monkeypatch.setenv("FACETAG_MATCH_THRESHOLD", "high")
    response = post(client, BODY, signed_headers(BODY))
    assert response.status_code == 500
    assert response.json_body == {"error": "facetag is misconfigured; its log says why"}
    assert "FACETAG_MATCH_THRESHOLD" not in response.body.decode()
    assert any("FACETAG_MATCH_THRESHOLD" in reason for reason in misconfigured_reasons(caplog))
    assert queued == []


def test_an_unsigned_caller_learns_nothing_of_the_configuration(client, queued,
                                                                monkeypatch, caplog):
    monkeypatch.setenv("FACETAG_SIGNATURE_WINDOW_S", "a while")
    response = post(client, BODY, {"Content-Type": "application/json"})
    assert response.status_code == 500
    assert "FACETAG_SIGNATURE_WINDOW_S" not in response.body.decode()
    assert any("FACETAG_SIGNATURE_WINDOW_S" in reason for reason in misconfigured_reasons(caplog))


def test_missing_secret_configuration_is_a_500_naming_the_variables_in_the_log_only(
        client, queued, monkeypatch, caplog):
    def no_secret():
        raise ConfigError("set CLOUDINARY_URL, or CLOUDINARY_CLOUD_NAME and CLOUDINARY_API_KEY")

    monkeypatch.setattr(runtime, "secret", no_secret)
    response = post(client, BODY, signed_headers(BODY))
    assert response.status_code == 500 and "CLOUDINARY_URL" not in response.body.decode()
    assert any("CLOUDINARY_URL" in reason for reason in misconfigured_reasons(caplog))
    assert queued == []


def test_unavailable_secret_store_answers_503(client, queued, monkeypatch):
    def store_down():
        raise ConnectionError("ssm unreachable")

    monkeypatch.setattr(runtime, "secret", store_down)
    assert post(client, BODY, signed_headers(BODY)).status_code == 503
    assert queued == []
