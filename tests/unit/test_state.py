"""facetag's state on an asset: what the codec writes, it reads back the same."""

from __future__ import annotations

from chalicelib import state
from chalicelib.assets import Asset, AssetRef
from chalicelib.names import PersonName
from chalicelib.settings import Settings

S = Settings()
JANE, ZOE = PersonName.parse("Jane Doe"), PersonName.parse("Zoë O'Neil")


def asset(context: dict[str, str] | None = None, tags: tuple[str, ...] = (),
          version: int = 7) -> Asset:
    return Asset(AssetRef("a1", "photos/a1"), version=version, tags=tags, context=context or {})


def written(before: Asset, context: dict[str, str], marker: bool = True) -> Asset:
    merged = {k: v for k, v in {**before.context, **context}.items() if v}
    tags = (*before.tags, S.marker_tag) if marker else before.tags
    return Asset(before.ref, before.version, tags, merged)


def test_a_recognition_result_reads_back_as_processed_with_its_faces() -> None:
    before = asset()
    after = written(before, state.recognised_context(before, 3, 1, [JANE], [ZOE], ["f1", "f2"]))
    read = state.read(after, S)
    assert read.processed(after)
    assert read.face_ids == ("f1", "f2")
    assert after.context[state.PEOPLE] == "Jane Doe"
    assert after.context[state.SUGGESTED] == "Zoë O'Neil"
    assert after.context[state.FACES] == "3" and after.context[state.UNKNOWN] == "1"


def test_a_new_version_of_the_asset_is_not_processed() -> None:
    before = asset(version=7)
    after = written(before, state.recognised_context(before, 0, 0, [], [], []))
    newer = Asset(after.ref, 8, after.tags, after.context)
    assert not state.read(newer, S).processed(newer)


def test_without_the_current_marker_nothing_is_processed() -> None:
    before = asset()
    after = written(before, state.recognised_context(before, 0, 0, [], [], []), marker=False)
    assert not state.read(after, S).processed(after)


def test_the_version_key_of_earlier_releases_is_still_read() -> None:
    old = asset({"facetag_version": "7"}, tags=(S.marker_tag,))
    assert state.read(old, S).processed(old)
    rewritten = written(old, state.recognised_context(old, 0, 0, [], [], []))
    assert "facetag_version" not in rewritten.context
    assert rewritten.context[state.ASSET_VERSION] == "7"


def test_training_and_untraining_round_trip() -> None:
    before = asset()
    trained = written(before, state.trained_context(before, JANE, ["f1"]))
    assert state.read(trained, S).trained == "Jane Doe"
    assert state.read(trained, S).label == "Jane Doe"
    untrained = written(trained, state.untrained_context())
    assert state.read(untrained, S).trained == "" and state.read(untrained, S).label == ""


def test_rejected_names_keep_any_character() -> None:
    names = {"Jane Doe", 'Eve "E" ,; |=\\', "李小龙"}
    after = written(asset(), state.rejected_context(names), marker=False)
    assert state.read(after, S).rejected == frozenset(names)


def test_a_rejection_value_facetag_did_not_write_reads_as_none() -> None:
    for raw in ("not json", '{"a": 1}', "42"):
        assert state.read(asset({state.REJECTED: raw}), S).rejected == frozenset()


def test_an_error_keeps_the_faces_already_indexed_and_the_label() -> None:
    before = asset()
    after = written(before, state.error_context(before, "no face found", "Jane Doe", ["f9"]))
    read = state.read(after, S)
    assert read.error == "no face found" and read.label == "Jane Doe"
    assert read.face_ids == ("f9",) and read.processed(after)


def test_stale_markers_and_the_error_tag_are_replaced() -> None:
    a = asset(tags=("facetag:v-old", S.marker_tag, S.error_tag, "person:Jane Doe", "holiday"))
    assert sorted(state.stale_tags(a, S)) == sorted(["facetag:v-old", S.error_tag])
