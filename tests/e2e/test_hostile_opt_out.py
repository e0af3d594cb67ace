"""Opted-out assets (an excluded folder, the `facetag:skip` tag) are never written by facetag.

Their uploads cost nothing. A `person:` tag removed from them is not remembered as a
rejection: a change notification carries neither the asset's folder nor its tags, so facetag
reads the assets it names (one batched Admin call) and writes nothing on those that opted out.
A change that itself adds the skip tag needs no read at all.
"""

from __future__ import annotations

import cloudinary.uploader

from emulators.stack import admin
from tests.fixtures_stack import Librarian
from tests.photos import faceless

ZED = "person:Zed"


def settled(librarian: Librarian) -> dict[str, int]:
    """Cloudinary calls since the last reset, once every notification was answered the first
    time; counters reset for what follows."""
    librarian.wait()
    stats = librarian.cloudinary_stats()
    assert stats["notifications"]["retried"] == 0 and stats["notifications"]["failed"] == 0
    admin(librarian.stack.cloudinary.url, "stats/reset", method="POST")
    return {"admin": stats["admin_calls"], "upload": stats["upload_calls"],
            "delivery": stats["delivery_requests"]}


def test_uploads_that_opted_out_cost_no_read_and_no_write(librarian: Librarian) -> None:
    settled(librarian)
    librarian.upload(faceless(96, 96), "private/one", tags=[ZED], folder="private")
    librarian.upload(faceless(96, 96), "events/skipped", tags=["facetag:skip", ZED])

    assert settled(librarian) == {"admin": 0, "upload": 2, "delivery": 0}  # the two uploads
    assert librarian.asset("private/one").tags == (ZED,)
    assert librarian.asset("events/skipped").tags == ("facetag:skip", ZED)


def test_a_name_removed_from_opted_out_assets_is_not_written_there(
        librarian: Librarian) -> None:
    librarian.upload(faceless(96, 96), "private/one", tags=[ZED], folder="private")
    librarian.upload(faceless(96, 96), "events/skipped", tags=["facetag:skip", ZED])
    librarian.upload(faceless(96, 96), "events/kept", tags=[ZED])
    settled(librarian)

    cloudinary.uploader.remove_tag(ZED, ["private/one", "events/skipped", "events/kept"])

    # One read for the three assets; one write: the rejection on the asset that did not opt
    # out (and the librarian's own call).
    assert settled(librarian) == {"admin": 1, "upload": 1 + 1, "delivery": 0}
    assert librarian.asset("private/one").context == {}
    assert librarian.asset("events/skipped").context == {}
    assert librarian.asset("events/kept").context["facetag_rejected"] == '["Zed"]'


def test_a_change_that_adds_the_skip_tag_costs_no_read(librarian: Librarian) -> None:
    librarian.upload(faceless(96, 96), "events/opting-out", tags=[ZED])
    settled(librarian)
    before = librarian.asset("events/opting-out").context
    settled(librarian)

    # Every tag is replaced by the skip tag: `person:Zed` goes in the same change.
    cloudinary.uploader.replace_tag("facetag:skip", ["events/opting-out"])

    assert settled(librarian) == {"admin": 0, "upload": 1, "delivery": 0}
    assert librarian.asset("events/opting-out").context == before
    assert librarian.asset("events/opting-out").tags == ("facetag:skip",)
