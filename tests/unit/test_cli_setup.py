"""`facetag init` and `facetag webhook register|list` on in-memory fakes."""

from __future__ import annotations

import json

from cloudinary.exceptions import AuthorizationRequired

from facetag_cli.account import Registration
from facetag_cli.setup_commands import EVENT_TYPES
from tests.unit.cli_support import FakeWiring, facetag, one_sentence

URL = "https://facetag.example.com/api/webhooks/cloudinary"


def test_init_creates_the_collection_then_finds_it() -> None:
    wiring = FakeWiring()
    wiring.faces.exists = False
    first = facetag(wiring, "init")
    assert first.exit_code == 0, first.stderr
    version = wiring.settings().version
    assert first.stdout.splitlines() == [
        f"settings: valid (version {version})",
        "Cloudinary: credentials accepted for cloud 'demo'",
        "Rekognition: collection 'facetag' created (0 faces, 0 people)"]
    wiring.train("t1", "jane", "Jane Doe")
    second = facetag(wiring, "init")
    assert second.exit_code == 0
    assert "collection 'facetag' exists (1 faces, 1 people)" in second.stdout
    assert wiring.cloudinary.pings == 2


def test_init_with_refused_cloudinary_credentials_creates_nothing() -> None:
    wiring = FakeWiring()
    wiring.faces.exists = False
    wiring.cloudinary.failure = AuthorizationRequired("Invalid Signature 0a1b2c")
    result = facetag(wiring, "init")
    assert result.exit_code == 2
    assert "Cloudinary refused the credentials" in one_sentence(result.stderr)
    assert not wiring.faces.exists


def test_webhook_register_creates_each_missing_trigger_once() -> None:
    wiring = FakeWiring()
    wiring.cloudinary.registered.append(Registration("old", "upload", "https://old.example/x"))
    first = facetag(wiring, "webhook", "register", URL)
    assert first.exit_code == 0, first.stderr
    assert first.stdout.splitlines() == [f"{e}: registered" for e in EVENT_TYPES]
    second = facetag(wiring, "webhook", "register", URL)
    assert second.stdout.splitlines() == [f"{e}: already registered" for e in EVENT_TYPES]
    assert sorted((r.uri, r.event_type) for r in wiring.cloudinary.registered) == sorted(
        [("https://old.example/x", "upload"), *((URL, e) for e in EVENT_TYPES)])


def test_webhook_register_refuses_what_is_not_an_http_url() -> None:
    wiring = FakeWiring()
    for url in ("not a url", "ftp://facetag.example.com/hook", "https://no-path.example.com"):
        result = facetag(wiring, "webhook", "register", url)
        assert result.exit_code == 2 and "is not an http(s) URL" in result.stderr
    assert wiring.cloudinary.registered == []


def test_webhook_list_prints_the_triggers_as_a_table_or_json() -> None:
    wiring = FakeWiring()
    empty = facetag(wiring, "webhook", "list")
    assert empty.exit_code == 0 and "No triggers: run `facetag webhook register URL`." in empty.stdout
    wiring.cloudinary.registered.append(Registration("t-1", "upload", URL))
    assert facetag(wiring, "webhook", "list").stdout.splitlines() == [
        f"upload                     {URL}  (t-1)"]
    listed = json.loads(facetag(wiring, "webhook", "list", "--json").stdout)
    assert listed == [{"id": "t-1", "event_type": "upload", "uri": URL}]
