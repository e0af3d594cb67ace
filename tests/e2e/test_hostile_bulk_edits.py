"""A bulk tag edit costs a bounded number of Admin calls, whatever the number of assets.

A librarian removing `person:Zed` from 600 assets in one call gets one notification naming all
600. The route queues it as one message and answers at once; each removal must be remembered
on its asset (`facetag_rejected`), the assets read 100 to an Admin call and written grouped by
resulting value, so the account's hourly Admin quota (500 calls on the free plan) is not
exhausted, and the notification is answered the first time.
"""

from __future__ import annotations

import math

import cloudinary.api
import cloudinary.uploader

from chalicelib.assets import asset_from_resource
from emulators.stack import admin
from tests.e2e.reconcile_support import drop_notifications
from tests.fixtures_stack import Librarian
from tests.photos import faceless

ASSETS = 600
ALREADY_REJECTED = 100  # assets that already remember another name
QUOTA = 500


def rejected_names(asset_ids: list[str]) -> dict[str, str]:
    """Each asset's `facetag_rejected`, by public_id."""
    found: dict[str, str] = {}
    for i in range(0, len(asset_ids), 100):
        r = cloudinary.api.resources_by_asset_ids(asset_ids[i:i + 100], tags=True, context=True)
        for resource in r["resources"]:
            asset = asset_from_resource(resource)
            found[asset.public_id] = asset.context.get("facetag_rejected", "")
    return found


def test_a_name_removed_from_600_assets_in_one_call_is_remembered_on_each(
        librarian: Librarian) -> None:
    stack = librarian.stack
    # The assets are set up without the app seeing them: only the bulk edit is measured.
    drop_notifications(stack)
    image = faceless(96, 96)
    public_ids = [f"bulk/{i:04d}" for i in range(ASSETS)]
    asset_ids = [librarian.upload(image, public_id, tags=["person:Zed"],
                                  context={"facetag_rejected": '["Ann"]'}
                                  if i < ALREADY_REJECTED else None).asset_id
                 for i, public_id in enumerate(public_ids)]
    librarian.wait()
    admin(stack.cloudinary.url, "notifications", {"drop_rate": 0.0})
    admin(stack.cloudinary.url, "stats/reset", method="POST")
    admin(stack.cloudinary.url, "rate_limit", {"limit": QUOTA})

    cloudinary.uploader.remove_tag("person:Zed", public_ids)
    librarian.wait()
    stats = librarian.cloudinary_stats()

    assert stats["notifications"]["retried"] == 0 and stats["notifications"]["failed"] == 0
    # Reads: ⌈600/100⌉ batched Admin calls, far inside the quota (no 420 is possible).
    assert stats["admin_calls"] <= math.ceil(ASSETS / 100) + 1, stats["calls"]
    # Writes: the librarian's own call, then one add_context per resulting value: the first
    # hundred assets remember Ann already, the others only Zed.
    assert stats["calls"].get("tags") == 1
    assert stats["calls"].get("context") == 2
    chunks = [a for group, attempts in librarian.attempts().items()
              if group.startswith("chunk-") for a in attempts]
    # The edit, forwarded whole, and the echoes of facetag's two grouped context writes (of 100
    # and 500 assets, forwarded too), which the workers read and ignore: the Admin calls above
    # count every read.
    assert len(chunks) == 3 and not any(a.failed for a in chunks)
    names = rejected_names(asset_ids)
    assert [names[p] for p in public_ids] == (['["Ann", "Zed"]'] * ALREADY_REJECTED
                                              + ['["Zed"]'] * (ASSETS - ALREADY_REJECTED))
