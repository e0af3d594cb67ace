"""`facetag init` and `facetag webhook register|list` on in-memory fakes."""

from __future__ import annotations

import json

from chalicelib.library import Webhook
from chalicelib.library_errors import LibraryMisconfigured
from facetag_cli.setup_commands import EVENT_TYPES
from tests.unit.cli_support import FakeWiring, facetag, one_sentence

URL = "https://facetag.example.com/api/webhooks/cloudinary"


def test_init_creates_the_collection_then_finds_it() -> None:
    wiring = FakeWiring()
    wiring.faces.collection = False
    first = facetag(wiring, "init")
    assert first.exit_code == 0, first.stderr
    fingerprint = wiring.settings().fingerprint
    assert first.stdout.splitlines() == [
        f"settings: valid (fingerprint {fingerprint})",
        "Cloudinary: credentials accepted for cloud 'demo'",
        "Rekognition: collection 'facetag' created (0 faces, 0 people)"]
    wiring.train("t1", "jane", "Jane Doe")
    second = facetag(wiring, "init")
    assert second.exit_code == 0
    assert "collection 'facetag' exists (1 faces, 1 people)" in second.stdout
    assert wiring.library.requests.count("ping") == 2


def test_init_with_refused_cloudinary_credentials_creates_nothing() -> None:
    wiring = FakeWiring()
    wiring.faces.collection = False
    wiring.library.errors["ping"] = LibraryMisconfigured(
        "Cloudinary refused the credentials (Invalid Signature 0a1b2c): check CLOUDINARY_URL")
    result = facetag(wiring, "init")
    assert result.exit_code == 2
    assert "Cloudinary refused the credentials" in one_sentence(result.stderr)
    assert not wiring.faces.collection and "CreateCollection" not in wiring.faces.requests


def test_webhook_register_creates_each_missing_trigger_once() -> None:
    wiring = FakeWiring()
    wiring.library.triggers.append(Webhook("old", "upload", "https://old.example/x"))
    first = facetag(wiring, "webhook", "register", URL)
    assert first.exit_code == 0, first.stderr
    assert first.stdout.splitlines() == [f"{e}: registered" for e in EVENT_TYPES]
    second = facetag(wiring, "webhook", "register", URL)
    assert second.stdout.splitlines() == [f"{e}: already registered" for e in EVENT_TYPES]
    assert sorted((w.url, w.event_type) for w in wiring.library.triggers) == sorted(
        [("https://old.example/x", "upload"), *((URL, e) for e in EVENT_TYPES)])


def test_webhook_register_refuses_what_is_not_an_http_url() -> None:
    wiring = FakeWiring()
    for url in ("not a url", "ftp://facetag.example.com/hook", "https://no-path.example.com"):
        result = facetag(wiring, "webhook", "register", url)
        assert result.exit_code == 2 and "is not an http(s) URL" in result.stderr
    assert wiring.library.triggers == [] and wiring.library.requests == []


def test_webhook_list_prints_the_triggers_as_a_table_or_json() -> None:
    wiring = FakeWiring()
    empty = facetag(wiring, "webhook", "list")
    assert empty.exit_code == 0
    assert "No triggers: run `facetag webhook register URL`." in empty.stdout
    wiring.library.triggers.append(Webhook("t-1", "upload", URL))
    assert facetag(wiring, "webhook", "list").stdout.splitlines() == [
        f"upload                     {URL}  (t-1)"]
    listed = json.loads(facetag(wiring, "webhook", "list", "--json").stdout)
    assert listed == [{"id": "t-1", "event_type": "upload", "uri": URL}]
