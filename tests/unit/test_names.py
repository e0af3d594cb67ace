"""Person names: normalisation, refusals a librarian can act on, and the reversible UserId codec."""

import re
import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from chalicelib.names import InvalidName, PersonName, normalise

ALLOWED_ID = re.compile(r"^[a-zA-Z0-9_.\-:]{1,128}$")

# Any text, including the characters the codec must escape, surrogates and controls.
any_text = st.text(min_size=0, max_size=80)
ascii_heavy = st.text(alphabet=st.sampled_from("aZ9 _.-:'=|,\t"), max_size=60)
names = st.one_of(any_text, ascii_heavy)
# Mostly usable names, so collision tests are not starved by refusals.
usable = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=("Cc", "Cf", "Cs"),
                                   exclude_characters=",\\"),
            min_size=1, max_size=20),
    st.text(alphabet=st.sampled_from("aA9 _.-:;'=|\u00e9e\u0301"), min_size=1, max_size=20),
)
# What an uploader may put in a name to corrupt context or to look like someone else.
hostile = st.text(alphabet=st.sampled_from(
    "Eve \\=|;,\u200b\u200d\u200e\u202e\u2066\ufeff\u00ad\u3164\x00\x1b"), max_size=12)


def try_parse(raw: str) -> PersonName | None:
    try:
        return PersonName.parse(raw)
    except InvalidName:
        return None


@given(names)
def test_parse_either_gives_a_round_tripping_id_or_refuses(raw):
    person = try_parse(raw)
    if person is None:
        return
    assert ALLOWED_ID.match(person.user_id)
    assert ALLOWED_ID.match(person.hidden_user_id)
    assert PersonName.from_user_id(person.user_id) == (person, False)
    assert PersonName.from_user_id(person.hidden_user_id) == (person, True)
    assert len("person:" + person.display) <= 255


@given(usable, usable)
def test_distinct_names_never_share_an_id(a, b):
    pa, pb = try_parse(a), try_parse(b)
    assume(pa is not None and pb is not None and pa.display != pb.display)
    assert pa.user_id != pb.user_id
    assert pa.hidden_user_id != pb.hidden_user_id
    assert pa.user_id != pb.hidden_user_id


@given(st.one_of(names, hostile))
def test_accepted_names_hold_no_backslash_control_or_invisible_character(raw):
    person = try_parse(raw)
    assume(person is not None)
    assert "\\" not in person.display and "," not in person.display
    assert not {unicodedata.category(ch) for ch in person.display} & {"Cc", "Cf", "Cs"}


@given(names)
def test_parse_is_deterministic_and_idempotent(raw):
    person = try_parse(raw)
    assume(person is not None)
    again = PersonName.parse(person.display)
    assert again == person and again.user_id == person.user_id


@given(names)
def test_normalised_names_are_nfc_trimmed_and_single_spaced(raw):
    name = normalise(raw)
    assert unicodedata.is_normalized("NFC", name)
    assert name == name.strip(" ")
    assert not re.search(r"  |[\t\n\r\v\f\u00a0\u2028\u3000]", name)


@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300))
def test_long_names_are_refused_rather_than_truncated(raw):
    person = try_parse(raw)
    if person is not None:
        assert len(person.user_id) <= 128


@pytest.mark.parametrize("raw, user_id", [
    ("José García", "p:Jos.e9._Garc.ed.a"),
    ("Zoë O'Neil", "p:Zo.eb._O.27.Neil"),
    ("李小龙", "p:.674e..5c0f..9f99."),
    ("Jane Doe", "p:Jane_Doe"),
    ("Mary-Jane", "p:Mary-Jane"),
    ("a_b", "p:a.5f.b"),
    ("a.b", "p:a.2e.b"),
    ("a:b", "p:a.3a.b"),
    ("a=b|c", "p:a.3d.b.7c.c"),
    ("😀", "p:.1f600."),
])
def test_ascii_names_stay_readable_and_others_are_escaped(raw, user_id):
    person = PersonName.parse(raw)
    assert person.display == raw
    assert person.user_id == user_id
    assert PersonName.from_user_id(user_id) == (person, False)


def test_right_to_left_names_are_allowed():
    person = PersonName.parse(" \u05e9\u05dc\u05d5\u05dd  \u05e2\u05d5\u05dc\u05dd ")
    assert person.display == "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd"
    assert PersonName.from_user_id(person.user_id)[0] == person


def test_whitespace_is_trimmed_and_collapsed():
    assert PersonName.parse("  Jane \t\n Doe\u00a0 ").display == "Jane Doe"


def test_names_differing_by_case_are_different_people():
    upper, lower = PersonName.parse("Jane Doe"), PersonName.parse("jane doe")
    assert upper != lower
    assert upper.user_id != lower.user_id


def test_nfc_and_nfd_spellings_are_the_same_person():
    nfc = PersonName.parse("Jos\u00e9")
    nfd = PersonName.parse("Jose\u0301")
    assert nfc == nfd
    assert nfc.user_id == nfd.user_id


@pytest.mark.parametrize("raw, words", [
    ("", "empty"),
    ("  ", "empty"),
    ("Smith, John", "comma"),
    ("Jane\x00Doe", "control character"),
    ("Jane\x1bDoe", "control character"),
    ("x" * 300, "too long"),
    ("李" * 30, "too long"),
    ("Eve\\", "backslash"),
    ("Eve\\Smith", "backslash"),
    ("Eve\u200b", "invisible character U+200B"),
    ("Eve\u200dSmith", "invisible character U+200D"),
    ("\u202eEve", "invisible character U+202E"),
    ("Eve\u200e", "invisible character U+200E"),
    ("\ufeffEve", "invisible character U+FEFF"),
    ("Ev\u00ade", "invisible character U+00AD"),
    ("Eve\u3164", "invisible character U+3164"),
])
def test_unusable_names_get_a_plain_sentence(raw, words):
    with pytest.raises(InvalidName) as err:
        PersonName.parse(raw)
    message = str(err.value)
    assert words in message
    assert message.endswith(".") and "\n" not in message
    assert isinstance(err.value, ValueError)


def test_longest_ascii_name_that_fits():
    assert len(PersonName.parse("x" * 126).user_id) == 128
    with pytest.raises(InvalidName):
        PersonName.parse("x" * 127)


@pytest.mark.parametrize("user_id", [
    "", "Jane_Doe", "x:Jane", "p:", "p:Jane__Doe", "p:_Jane", "p:Jane.41.", "p:.0e9.",
    "p:Jane.E9.", "p:Jane.e9", "p:a.110000.", "p:a.2c.b", "p:a.0.b", "p:a.d800.", "p:a/b",
    "p:Eve.5c.", "p:Eve.200b.",
])
def test_foreign_or_non_canonical_ids_are_refused(user_id):
    with pytest.raises(ValueError):
        PersonName.from_user_id(user_id)
