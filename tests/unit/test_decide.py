"""One decision says what an asset needs; the webhook, reconciliation and dry runs all use it."""

from __future__ import annotations

import pytest

from chalicelib import state
from chalicelib.assets import Asset, AssetRef
from chalicelib.decide import Need, decide
from chalicelib.names import PersonName
from chalicelib.settings import Settings

S = Settings(exclude_folders=("private",))
JANE = PersonName.parse("Jane Doe")


def asset(tags: tuple[str, ...] = (), context: dict[str, str] | None = None,
          folder: str = "photos", resource_type: str = "image") -> Asset:
    return Asset(AssetRef("a1", f"{folder}/a1", resource_type), version=3, tags=tags,
                 context=context or {}, folder=folder)


def done(a: Asset, context: dict[str, str]) -> Asset:
    merged = {k: v for k, v in {**a.context, **context}.items() if v}
    return Asset(a.ref, a.version, (*a.tags, S.marker_tag), merged, a.folder)


@pytest.mark.parametrize(("a", "need"), [
    (asset(resource_type="video"), Need.IGNORE),
    (asset(tags=("facetag:skip", "train:Jane Doe")), Need.SKIP),
    (asset(folder="private/2024"), Need.SKIP),
    (asset(), Need.RECOGNISE),
    (asset(tags=("train:Jane Doe",)), Need.TRAIN),
    (asset(context={"person": "Jane Doe"}), Need.TRAIN),
    (asset(tags=("train:Jane Doe", "train:John Roe")), Need.REFUSE),
    (asset(tags=("train:Jane, Doe",)), Need.REFUSE),
])
def test_what_a_new_asset_needs(a: Asset, need: Need) -> None:
    assert decide(a, S).need is need


def test_a_processed_asset_needs_nothing_unless_rerun() -> None:
    a = asset()
    processed = done(a, state.recognised_context(a, 0, 0, [], [], []))
    assert decide(processed, S).need is Need.NOTHING
    assert decide(processed, S, rerun=True).need is Need.RECOGNISE


def test_a_trained_label_is_not_trained_again_even_on_rerun() -> None:
    a = asset(tags=("train:Jane Doe",))
    trained = done(a, state.trained_context(a, JANE, ["f1"]))
    assert decide(trained, S, rerun=True).need is Need.NOTHING


def test_a_changed_label_trains_again() -> None:
    a = asset(tags=("train:John Roe",))
    trained = done(a, state.trained_context(a, JANE, ["f1"]))
    decision = decide(trained, S)
    assert decision.need is Need.TRAIN and decision.label == PersonName.parse("John Roe")


def test_an_unusable_label_is_refused_once_with_the_same_reason() -> None:
    a = asset(tags=("train:A", "train:B"))
    first = decide(a, S)
    assert first.need is Need.REFUSE
    marked = done(a, state.error_context(a, first.reason, "", []))
    assert decide(marked, S).need is Need.NOTHING


def test_a_dry_run_describes_the_same_choice() -> None:
    assert decide(asset(tags=("train:Jane Doe",)), S).describe() == "train Jane Doe"
    assert decide(asset(), S).describe(rerun=True) == "re-run recognition"
    assert decide(asset(tags=("train:A", "train:B")), S).describe().startswith("mark as error")
