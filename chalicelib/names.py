"""Person names: normalisation, validation and the reversible Rekognition `UserId` codec.

A person is known by a display name ("José García", "Zoë O'Neil", "李小龙"). The name is
normalised once (Unicode NFC, trimmed, inner whitespace runs collapsed to one space) and then
used as-is: in tags (`person:<Name>`), in context values and, encoded, as the Rekognition
`UserId`.

Identity rules:
- Names that differ only in Unicode form (NFC vs NFD "é") are the same person after NFC.
- Names that differ only in case ("Jane Doe", "jane doe") are *different* people: case is part
  of the name a librarian typed, and folding it would merge people whose names only look alike
  in some scripts.

UserId codec. Rekognition identifiers allow only `[a-zA-Z0-9_.\\-:]`, at most 128 characters.
A name is encoded character by character:
- ASCII letters, digits and `-` are kept as they are (ASCII names stay readable);
- a space becomes `_`;
- every other character (including `_`, `.`, `:`) becomes `.<code point in lowercase hex,
  no leading zeros>.`, e.g. `_` ↦ `.5f.`, `'` ↦ `.27.`, `é` ↦ `.e9.`, `李` ↦ `.674e.`.

`.` only ever opens or closes an escape and `_` only ever stands for a space, so decoding is
unambiguous and the codec is injective: two different names never share a UserId. Decoding is
strict (a non-canonical form such as `.41.` for `A` is refused), so every UserId has exactly one
name. A person's UserId is `p:` + encoded name; while hidden by an operator it is `h:` + the
same encoding.

Characters that cannot be used:
- a comma: Cloudinary splits tags on it, so `person:Smith, John` would become two tags (and
  so no name holds one, which keeps the comma-joined name lists of `state.py` unambiguous);
- a backslash: the SDK escapes `=` and `|` in context values but not `\\`, so a name ending in
  one (`Eve\\`) would swallow the separator after it and corrupt the asset's context;
- control characters, lone surrogates, and invisible or direction-control characters
  (Unicode category Cf: zero-width spaces and joiners, direction marks and overrides; and the
  blank Hangul fillers): two names that differ only by one would look identical.
`=`, `|`, `;`, quotes, apostrophes, emoji and right-to-left text are fine: tags carry them, and
the SDK escapes `=` and `|` in context values.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

USER_ID_MAX = 128  # Rekognition's UserId limit
TAG_MAX = 255  # Cloudinary's per-tag limit
PERSON_TAG_PREFIX = "person:"  # the default prefix; names must fit a tag with it
VISIBLE_PREFIX = "p:"
HIDDEN_PREFIX = "h:"

# Whitespace that normalisation turns into one space. Other control characters (NUL, ESC,
# the ASCII separators that str.split() also treats as space) are refused instead.
_WHITESPACE_RUN = re.compile(r"(?:[ \t\n\r\v\f]|[^\S\x00-\x7f\x85])+")
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
_TOKEN = re.compile(r"[a-zA-Z0-9-]|_|\.([0-9a-f]{1,6})\.")
# Letters (category Lo) that render as nothing: the Hangul fillers.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")


class InvalidName(ValueError):
    """A name facetag cannot use; the message is one sentence a librarian can act on."""


def normalise(raw: str) -> str:
    """NFC, trimmed, inner whitespace runs collapsed to one space; case kept."""
    text = unicodedata.normalize("NFC", raw)
    return _WHITESPACE_RUN.sub(" ", text).strip(" ")


def _encode(name: str) -> str:
    out = []
    for ch in name:
        if ch in _PLAIN:
            out.append(ch)
        elif ch == " ":
            out.append("_")
        else:
            out.append(f".{ord(ch):x}.")
    return "".join(out)


def _decode(body: str) -> str:
    chars = []
    pos = 0
    while pos < len(body):
        m = _TOKEN.match(body, pos)
        if m is None:
            raise ValueError(f"not an encoded person name: {body!r}")
        token = m.group(0)
        if m.group(1) is not None:
            code = int(m.group(1), 16)
            if code > 0x10FFFF:
                raise ValueError(f"not an encoded person name: {body!r}")
            chars.append(chr(code))
        else:
            chars.append(" " if token == "_" else token)
        pos = m.end()
    name = "".join(chars)
    if _encode(name) != body:  # non-canonical escapes would give one name two ids
        raise ValueError(f"not an encoded person name: {body!r}")
    return name


def _problem(name: str) -> str | None:
    """Why `name` (already normalised) cannot be a person's name, or None."""
    if not name:
        return "The person's name is empty: write a name after the prefix."
    if "," in name:
        return (f"The name '{name}' contains a comma, which Cloudinary tags cannot carry: "
                "write it without the comma (for example 'John Smith').")
    if "\\" in name:
        return (f"The name '{name}' contains a backslash, which Cloudinary context values "
                "cannot carry safely: write it without the backslash.")
    for ch in name:
        category = unicodedata.category(ch)
        if category == "Cc":
            return (f"The name {name!r} contains the control character U+{ord(ch):04X}: "
                    "retype it with letters, spaces and punctuation only.")
        if category == "Cf" or ch in _BLANK_LETTERS:
            return (f"The name {name!r} contains the invisible character U+{ord(ch):04X} "
                    f"({unicodedata.name(ch, 'unnamed')}), which would make it look like "
                    "another name: retype it with visible characters only.")
        if category == "Cs":
            return "The name contains a broken character (a lone surrogate): retype it."
    if len(VISIBLE_PREFIX + _encode(name)) > USER_ID_MAX or \
            len(PERSON_TAG_PREFIX + name) > TAG_MAX:
        return (f"The name {name[:40]!r}… is too long for a face index identifier: "
                "use a shorter name (at most about 120 letters, or 20 non-Latin characters).")
    return None


@dataclass(frozen=True)
class PersonName:
    """A valid, normalised person name; build it with `parse` or `from_user_id`."""

    display: str

    @classmethod
    def parse(cls, raw: str) -> PersonName:
        name = normalise(raw)
        problem = _problem(name)
        if problem:
            raise InvalidName(problem)
        return cls(name)

    @classmethod
    def from_user_id(cls, user_id: str) -> tuple[PersonName, bool]:
        """The name behind a UserId and whether the person is hidden; ValueError if foreign."""
        if user_id.startswith(VISIBLE_PREFIX):
            hidden = False
        elif user_id.startswith(HIDDEN_PREFIX):
            hidden = True
        else:
            raise ValueError(f"not a facetag person id: {user_id!r}")
        name = _decode(user_id[len(VISIBLE_PREFIX):])
        if normalise(name) != name or _problem(name):
            raise ValueError(f"not a facetag person id: {user_id!r}")
        return cls(name), hidden

    @property
    def user_id(self) -> str:
        return VISIBLE_PREFIX + _encode(self.display)

    @property
    def hidden_user_id(self) -> str:
        return HIDDEN_PREFIX + _encode(self.display)

    def __str__(self) -> str:
        return self.display
