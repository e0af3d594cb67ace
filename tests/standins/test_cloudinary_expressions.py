"""Pure parts of the local Cloudinary server: context encoding and the search expression parser."""

from __future__ import annotations

import cloudinary.utils
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulators.cloudinary.exceptions import BadRequest
from emulators.cloudinary.expression import parse
from emulators.cloudinary.terms import word_tokens
from emulators.cloudinary.wire import parse_context, parse_tags

keys = st.text(st.characters(blacklist_characters="=|\\", blacklist_categories=("Cs",)),
               min_size=1, max_size=12).filter(lambda k: k.strip() == k and k != "")
# A value ending in a backslash is left out: before the next pair's "|" the SDK's encoding
# reads as an escaped "|", for Cloudinary as for this server.
values = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1,
                 max_size=30).filter(lambda v: not v.endswith("\\"))


@given(st.dictionaries(keys, values, min_size=1, max_size=5))
def test_context_encoded_by_the_sdk_decodes_to_the_same_dict(context: dict[str, str]) -> None:
    assert parse_context(cloudinary.utils.encode_context(context)) == context


def test_only_equals_and_pipe_are_escapes_any_other_backslash_is_kept() -> None:
    assert parse_context(r"path=C:\\dir\|x\=y") == {"path": "C:\\\\dir|x=y"}
    assert parse_context(r"k=back\slash|j=\\=") == {"k": "back\\slash", "j": "\\="}


def test_empty_value_is_kept_so_add_can_delete_the_key() -> None:
    assert parse_context("a=|b=1") == {"a": "", "b": "1"}


def test_tags_split_on_commas_in_strings_and_lists() -> None:
    assert parse_tags("a, b,,c") == ["a", "b", "c"]
    assert parse_tags(["x,y", "z"]) == ["x", "y", "z"]


def test_word_tokens_split_on_punctuation_and_fold_case() -> None:
    assert word_tokens("person:Jane Doe") == ["person", "jane", "doe"]
    assert word_tokens("full-analysis") == ["full", "analysis"]


@pytest.mark.parametrize("expression", [
    "tags:*", "NOT tags=x", "(NOT tags=x)", "tags=", 'tags="unterminated', "a:(b",
    "uploaded_at>1m", "uploaded_at>1y", "nosuchfield:x", "tags>3", "public_id:[a TO b]",
    "asset_folder:events/*",
])
def test_malformed_expressions_are_parse_errors(expression: str) -> None:
    with pytest.raises(BadRequest):
        parse(expression)


@pytest.mark.parametrize("expression", [
    'resource_type:image AND type:upload AND uploaded_at>2d AND -tags="facetag:v3"',
    "tags:train", 'tags="person:Jane Doe"', 'context.person="Jane Doe"',
    'created_at:[4w TO 1w]', 'uploaded_at>"2026-05-01T00:00:00Z"', "public_id:events/*",
    'asset_folder:("x" OR "y")', "+tags:a -tags:b", "(tags:a OR tags:b) AND NOT tags:c",
    "width>=100 AND bytes<5000", "created_at:{1w TO 0h}", r"tags=16\:9", r"tags:long\ pants",
    "tags:a || tags:b", "tags:a && -tags:b", r"\AND",
])
def test_supported_expressions_parse(expression: str) -> None:
    parse(expression)
