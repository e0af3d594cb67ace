"""Unnamed people: who they are in the collection, and the tag a librarian searches them by.

An unnamed person is a Rekognition user like a named one, with its own prefix: `u:` and twelve
hex digits taken from its founding face, the lowest FaceId of the faces that made it. Two
workers that found the same faces at the same moment derive the same id, so they fill one user
(CreateUser's conflict is the state wanted, a face already associated with it is ignored)
instead of making two; FaceIds are random UUIDs, so two different founding faces share twelve
digits (48 bits) with a probability of about n²/2⁴⁹ among n unnamed people. `u:` never decodes
as a person's name (names.py knows `p:` and `h:` only), so every flow that looks for named
people passes unnamed ones by.

The tag on an asset is the settings' prefix and the id's digits (`unnamed:3f2a9c1b7d4e`); a
librarian who removes it from a photo rejects that unnamed person there, remembered in the
asset's rejections (state.py) as the user id, which no display name of a person can be taken
for in practice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeGuard

from .settings import Settings

PREFIX = "u:"
ID_DIGITS = 12
_ID = re.compile(rf"u:[0-9a-f]{{{ID_DIGITS}}}")


def is_unnamed(user_id: str | None) -> TypeGuard[str]:
    return user_id is not None and _ID.fullmatch(user_id) is not None


def founded_by(face_ids: Iterable[str]) -> str:
    """The id of the unnamed person these faces found: the same for the same faces."""
    return PREFIX + min(face_ids).replace("-", "")[:ID_DIGITS]


def tag(user_id: str, settings: Settings) -> str:
    return settings.unnamed_tag_prefix + user_id[len(PREFIX):]


def of_tag(text: str, settings: Settings) -> str | None:
    """The unnamed person a tag (or a `unnamed:<id>` a librarian typed) names, if it does."""
    if not text.startswith(settings.unnamed_tag_prefix):
        return None
    user_id = PREFIX + text[len(settings.unnamed_tag_prefix):]
    return user_id if is_unnamed(user_id) else None


def tagged(tags: Iterable[str], settings: Settings) -> set[str]:
    """The unnamed people the tags name (as user ids)."""
    return {u for u in (of_tag(t, settings) for t in tags) if u is not None}
