"""facetag's state on an asset: what the codec writes, it reads back the same."""

from __future__ import annotations

import pytest
from cloudinary.utils import encode_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import state
from chalicelib.assets import Asset, AssetRef
from chalicelib.names import InvalidName, PersonName
from chalicelib.outcome import AssetProblem
from chalicelib.settings import Settings
from chalicelib.state import StateWriter
from emulators.cloudinary.wire import parse_context
from tests.fakes import FakeLibrary

S = Settings()
JANE, ZOE = PersonName.parse("Jane Doe"), PersonName.parse("Zoë O'Neil")
F1, F2, F9 = (f"{n:08x}-1111-4222-8333-444455556666" for n in (1, 2, 9))


def asset(context: dict[str, str] | None = None, tags: tuple[str, ...] = (),
          version: int = 7) -> Asset:
    return Asset(AssetRef("a1", "photos/a1"), version=version, tags=tags, context=context or {})


def written(before: Asset, context: dict[str, str], marker: bool = True) -> Asset:
    merged = {k: v for k, v in {**before.context, **context}.items() if v}
    tags = (*before.tags, S.marker_tag) if marker else before.tags
    return Asset(before.ref, before.version, tags, merged)


def test_a_recognition_result_reads_back_as_processed_with_its_faces() -> None:
    before = asset()
    after = written(before, state.recognised_context(before, 3, 1, [JANE], [ZOE], [F1, F2]))
    read = state.read(after, S)
    assert read.processed(after)
    assert read.face_ids == (F1, F2)
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
    trained = written(before, state.trained_context(before, JANE, [F1]))
    assert state.read(trained, S).trained == JANE
    assert state.read(trained, S).label == "Jane Doe"
    untrained = written(trained, state.untrained_context())
    assert state.read(untrained, S).trained is None and state.read(untrained, S).label == ""


def test_rejected_names_keep_any_character() -> None:
    names = {"Jane Doe", 'Eve "E" ,; |=\\', "李小龙"}
    after = written(asset(), state.rejected_context(names), marker=False)
    assert state.read(after, S).rejected == frozenset(names)


def test_a_rejection_value_facetag_did_not_write_reads_as_none() -> None:
    for raw in ("not json", '{"a": 1}', "42"):
        assert state.read(asset({state.REJECTED: raw}), S).rejected == frozenset()


def test_an_error_keeps_the_faces_already_indexed_and_the_label() -> None:
    before = asset()
    after = written(before, state.error_context(before, "no face found", "Jane Doe", [F9]))
    read = state.read(after, S)
    assert read.error == "no face found" and read.label == "Jane Doe"
    assert read.face_ids == (F9,) and read.processed(after)


def test_stale_markers_and_the_error_tag_are_replaced() -> None:
    a = asset(tags=("facetag:v-old", S.marker_tag, S.error_tag, "person:Jane Doe", "holiday"))
    assert sorted(state.stale_tags(a, S)) == sorted(["facetag:v-old", S.error_tag])


# -- claims and the context encoding ----------------------------------------------------------

def face_id(n: int) -> str:
    return f"{n:08x}-1111-4222-8333-444455556666"


def test_face_ids_not_shaped_as_rekognition_issues_them_are_not_claims() -> None:
    raw = ",".join(["x", F1.upper(), F1, "../" + F2, F2, F1, "", " " + F9])
    assert state.read(asset({state.FACE_IDS: raw}), S).face_ids == (F1, F2)


def test_more_face_ids_than_one_image_can_have_claim_none() -> None:
    many = ",".join(face_id(n) for n in range(state.MAX_FACE_IDS + 1))
    assert state.read(asset({state.FACE_IDS: many}), S).face_ids == ()
    enough = ",".join(face_id(n) for n in range(state.MAX_FACE_IDS))
    assert len(state.read(asset({state.FACE_IDS: enough}), S).face_ids) == state.MAX_FACE_IDS


@pytest.mark.parametrize("raw", ["Smith, John", "Eve\\", "", "   ", "Eve\u200b"])
def test_a_trained_name_that_does_not_parse_trains_nobody(raw: str) -> None:
    assert state.read(asset({state.TRAINED: raw}), S).trained is None


def test_name_lists_split_back_exactly_with_semicolons_in_names() -> None:
    people = [PersonName.parse("Doe; Jane"), PersonName.parse("Roe"), PersonName.parse("a; b; c")]
    before = asset()
    context = state.recognised_context(before, 3, 0, people, [], [])
    assert context[state.PEOPLE] == "Doe; Jane, Roe, a; b; c"
    assert context[state.PEOPLE].split(", ") == [p.display for p in people]


def sdk_round_trip(context: dict[str, str]) -> dict[str, str]:
    """What Cloudinary stores of an `add_context` the SDK encodes (the local stack's parser)."""
    return parse_context(encode_context(context))


person_names = st.builds(PersonName.parse, st.text(
    alphabet=st.characters(exclude_categories=("Cc", "Cf", "Cs"), exclude_characters=",\\"),
    min_size=1, max_size=30).filter(lambda raw: bool(raw.strip()) and try_name(raw)))
hostile_text = st.text(alphabet=st.sampled_from("Eve =|;,\\\"'[]{}\u200b\x00é"), max_size=30)


def try_name(raw: str) -> bool:
    try:
        PersonName.parse(raw)
    except InvalidName:
        return False
    return True


@given(st.lists(person_names, max_size=4), st.lists(person_names, max_size=3), person_names,
       st.lists(st.integers(0, 2**32 - 1).map(face_id), max_size=5), hostile_text,
       st.lists(hostile_text, max_size=4))
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_every_value_facetag_writes_survives_the_sdks_encoding(
        people: list[PersonName], suggested: list[PersonName], name: PersonName,
        ids: list[str], reason: str, rejected: list[str]) -> None:
    before = asset()
    contexts = [
        state.recognised_context(before, 2, 1, people, suggested, ids),
        state.trained_context(before, name, ids),
        state.renamed_training_context(name),
        state.error_context(before, f"training name {reason!r} cannot be used", name.display,
                            ids),
        state.rejected_context([*rejected, *(p.display for p in people)]),
    ]
    for context in contexts:
        assert sdk_round_trip(context) == context
        assert not any(v.endswith("\\") for v in context.values())
    read = state.read(written(before, contexts[1]), S)
    assert read.trained == name and read.face_ids == tuple(dict.fromkeys(ids))
    assert state.read(written(before, contexts[4], marker=False), S).rejected == {
        *rejected, *(p.display for p in people)}


@given(hostile_text)
def test_a_reason_ending_in_a_backslash_loses_it_rather_than_the_next_key(reason: str) -> None:
    library = FakeLibrary()
    library.add("a1", "photos/a1")
    StateWriter(S, library).error(library.assets["a1"], AssetProblem(reason + "\\"))
    stored = sdk_round_trip(dict(library.assets["a1"].context))
    assert stored[state.ASSET_VERSION] == "1" and stored.get(state.ERROR, "") == (
        reason.rstrip("\\"))


U1, U2 = "u:0123456789ab", "u:ba9876543210"


def test_joined_faces_read_back_and_stand_while_the_photo_carries_the_tag() -> None:
    before = asset()
    after = written(before, state.recognised_context(before, 2, 2, [], [], [F1, F2],
                                                     {F1: U1, F2: U2}))
    assert state.read(after, S).joined == {F1: U1, F2: U2}
    tagged = Asset(after.ref, after.version, (*after.tags, "unnamed:0123456789ab"),
                   after.context)
    assert state.standing_joins(tagged, S) == {F1: U1}
    rerun = written(after, state.recognised_context(after, 2, 0, [], [], [F1, F2]))
    assert state.read(rerun, S).joined == {}


@pytest.mark.parametrize("raw", [
    "not json", "[]", f'{{"p:Jane": ["{F1}"]}}', '{"u:0123456789ab": ["not-a-face"]}',
    f'{{"u:0123456789ab": "{F1}"}}', f'{{"u:0123456789ab": ["{F1}"], "u:ba9876543210": ["{F1}"]}}',
    '{"u:0123456789ab": [' + ",".join(
        f'"{n:08x}-1111-4222-8333-444455556666"' for n in range(101)) + "]}",
])
def test_a_joined_value_facetag_did_not_write_reads_as_none(raw: str) -> None:
    assert state.read(asset({state.JOINED: raw}), S).joined == {}
