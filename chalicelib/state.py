"""facetag's state on an asset: every `facetag_*` context key and facetag tag, one codec.

What facetag writes on an asset is read back by the flows, reconciliation and the operator
actions, always through `AssetState` and the `*_context` builders here, never by key.

Everything read here is a claim: anyone who can upload sets an asset's context, and copying
context between assets copies facetag's keys too. So `read` keeps only what facetag could
have written (a name that parses, FaceIds shaped as Rekognition issues them, at most as many
as one image can have), and the flows check the rest against the collection before acting on
it (`asset_faces.py`: a face id counts only if its `ExternalImageId` is this asset's id).

Encodings (context values are strings; the SDK escapes `=` and `|` but not `\\`, so no value
written here ends in a backslash: names cannot hold one, see names.py):
- counts (`facetag_faces`, `facetag_unknown`): decimal numbers;
- names shown to librarians (`facetag_people`, `facetag_suggested`): `, `-joined display
  names (no name holds a comma, so the list splits back exactly; `;` may be in a name);
- `facetag_face_ids`: `,`-joined Rekognition FaceIds (lowercase UUIDs);
- `facetag_trained`, `facetag_label`: one display name;
- `facetag_unnamed_joined`: a JSON object from unnamed people's user ids to lists of FaceIds:
  this asset's faces that joined an unnamed person without being associated with it (clusters.py
  associates them in bulk when needed, unnamed_joins.py);
- `facetag_rejected`: a JSON list of display names (any character can be in a removed tag),
  and the user ids (`u:…`) of unnamed people whose tag a librarian removed (unnamed.py);
- `facetag_error`: a sentence for a librarian;
- `facetag_asset_version`: the Cloudinary version of the asset last processed. Assets processed
  before this key existed carry it as `facetag_version`, which is still read.
An empty value deletes a key (Cloudinary's `add_context` semantics).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from . import unnamed
from .assets import Asset, AssetRef
from .library_errors import WriteRefused
from .names import InvalidName, PersonName
from .outcome import AssetProblem
from .settings import Settings
from .stores import AssetLibrary

log = logging.getLogger("facetag.state")

FACES = "facetag_faces"
UNKNOWN = "facetag_unknown"
PEOPLE = "facetag_people"
SUGGESTED = "facetag_suggested"
FACE_IDS = "facetag_face_ids"
TRAINED = "facetag_trained"  # the person this asset trains
LABEL = "facetag_label"  # the training label last acted on (also when it failed)
ERROR = "facetag_error"
REJECTED = "facetag_rejected"
JOINED = "facetag_unnamed_joined"
ASSET_VERSION = "facetag_asset_version"
LEGACY_ASSET_VERSION = "facetag_version"

# IndexFaces stores at most 100 faces of one image, so a longer list was not written by facetag.
MAX_FACE_IDS = 100
_FACE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Fixed: a refused write's own text is Cloudinary's, not a reason facetag vouches for.
TAGS_REFUSED = ("Cloudinary refused to add facetag's tags to this asset, most likely because "
                "it already has 1,000 tags (Cloudinary's limit): remove tags it does not need, "
                "and the next reconciliation tags it")


@dataclass(frozen=True)
class AssetState:
    """What facetag has written on one asset, decoded."""

    marker_current: bool  # the processed marker of the current settings is on the asset
    asset_version: str  # the asset version last processed ("" when never)
    face_ids: tuple[str, ...]  # claimed: check their ExternalImageId before using them
    trained: PersonName | None  # claimed: None when the asset trains nobody, or not a name
    label: str
    error: str
    rejected: frozenset[str]
    joined: dict[str, str]  # claimed: face id -> the unnamed person it joined

    def processed(self, asset: Asset) -> bool:
        """This version of the asset was processed with the current settings."""
        return self.marker_current and self.asset_version == str(asset.version)


def read(asset: Asset, settings: Settings) -> AssetState:
    ctx = asset.context
    return AssetState(
        marker_current=settings.marker_tag in asset.tags,
        asset_version=ctx.get(ASSET_VERSION) or ctx.get(LEGACY_ASSET_VERSION, ""),
        face_ids=_face_ids(ctx.get(FACE_IDS, "")),
        trained=_name(ctx.get(TRAINED, "")),
        label=ctx.get(LABEL, ""),
        error=ctx.get(ERROR, ""),
        rejected=_rejected(ctx.get(REJECTED, "")),
        joined=_joined(ctx.get(JOINED, "")),
    )


def standing_joins(asset: Asset, settings: Settings) -> dict[str, str]:
    """The asset's joined faces whose unnamed person's tag it still carries: a join recorded
    for a person named or merged since (its tag replaced), or whose tag a librarian removed
    here, no longer says who the face is."""
    joined = read(asset, settings).joined
    return {f: u for f, u in joined.items() if unnamed.tag(u, settings) in asset.tags}


def _face_ids(raw: str) -> tuple[str, ...]:
    """FaceIds as Rekognition issues them, each once; none if more than one image can have."""
    ids = tuple(dict.fromkeys(f for f in raw.split(",") if _FACE_ID.fullmatch(f)))
    return ids if len(ids) <= MAX_FACE_IDS else ()


def _joined(raw: str) -> dict[str, str]:
    """Unnamed people's ids and FaceIds as facetag writes them, each face once, at most as
    many faces as one image can have; otherwise none."""
    try:
        groups = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    if not isinstance(groups, dict):
        return {}
    joined: dict[str, str] = {}
    for user_id, face_ids in groups.items():
        if not unnamed.is_unnamed(user_id) or not isinstance(face_ids, list):
            return {}
        for face_id in face_ids:
            if not isinstance(face_id, str) or not _FACE_ID.fullmatch(face_id) or (
                    face_id in joined):
                return {}
            joined[face_id] = user_id
    return joined if len(joined) <= MAX_FACE_IDS else {}


def _name(raw: str) -> PersonName | None:
    try:
        return PersonName.parse(raw) if raw else None
    except InvalidName:
        return None  # facetag writes only names that parse


def _rejected(raw: str) -> frozenset[str]:
    try:
        names = json.loads(raw) if raw else []
    except ValueError:
        return frozenset()
    return frozenset(str(n) for n in names) if isinstance(names, list) else frozenset()


def _names(names: Iterable[PersonName]) -> str:
    return ", ".join(n.display for n in names)


def _processed(asset: Asset, face_ids: Iterable[str]) -> dict[str, str]:
    """Keys every processing result carries; the legacy version key is dropped."""
    return {FACE_IDS: ",".join(face_ids), ASSET_VERSION: str(asset.version),
            LEGACY_ASSET_VERSION: "", ERROR: "", JOINED: ""}


def recognised_context(asset: Asset, faces: int, unknown: int, people: Iterable[PersonName],
                       suggested: Iterable[PersonName], face_ids: Iterable[str],
                       joined: Mapping[str, str] | None = None) -> dict[str, str]:
    """`joined`: face id -> the unnamed person it joined without being associated."""
    groups: dict[str, list[str]] = {}
    for face_id, user_id in sorted((joined or {}).items()):
        groups.setdefault(user_id, []).append(face_id)
    return {**_processed(asset, face_ids), FACES: str(faces), UNKNOWN: str(unknown),
            PEOPLE: _names(people), SUGGESTED: _names(suggested),
            JOINED: json.dumps(groups, sort_keys=True, separators=(",", ":")) if groups else ""}


def trained_context(asset: Asset, name: PersonName, face_ids: Iterable[str]) -> dict[str, str]:
    ids = list(face_ids)
    return {**_processed(asset, ids), TRAINED: name.display, LABEL: name.display,
            FACES: str(len(ids))}


def untrained_context() -> dict[str, str]:
    return {TRAINED: "", LABEL: ""}


def renamed_training_context(name: PersonName) -> dict[str, str]:
    return {TRAINED: name.display, LABEL: name.display}


def error_context(asset: Asset, reason: str, label: str, face_ids: Iterable[str]
                  ) -> dict[str, str]:
    context = {ERROR: reason, ASSET_VERSION: str(asset.version), LEGACY_ASSET_VERSION: "",
               LABEL: label}
    ids = ",".join(face_ids)
    if ids:
        context[FACE_IDS] = ids
    return context


def rejected_context(names: Iterable[str]) -> dict[str, str]:
    return {REJECTED: json.dumps(sorted(set(names)), ensure_ascii=False)}


def stale_tags(asset: Asset, settings: Settings, keep: Iterable[str] = ()) -> list[str]:
    """facetag's own status tags that a new result replaces, and the unnamed people's tags it
    does not `keep` (facetag alone writes those: a new result says who is on the photo)."""
    kept = set(keep)
    return [t for t in asset.tags
            if (t.startswith(settings.marker_prefix) and t != settings.marker_tag)
            or t == settings.error_tag
            or (unnamed.of_tag(t, settings) is not None and t not in kept)]


def unnamed_tags(user_ids: Iterable[str], asset: Asset, settings: Settings) -> list[str]:
    """The tags of the unnamed people on an asset, less those a librarian removed from it."""
    if not settings.unnamed_tags:
        return []
    rejected = read(asset, settings).rejected
    return sorted(unnamed.tag(u, settings) for u in set(user_ids) if u not in rejected)


def rejected_unnamed(removed_tags: Iterable[str], settings: Settings) -> set[str]:
    """What removing these tags rejects of unnamed people: their user ids."""
    return unnamed.tagged(removed_tags, settings)


def tagged_names(tags: Iterable[str], prefix: str) -> set[str]:
    return {t[len(prefix):] for t in tags if t.startswith(prefix)}


class StateWriter:
    """Writes facetag's state on assets through the library's merging Upload API calls."""

    def __init__(self, settings: Settings, library: AssetLibrary) -> None:
        self.settings = settings
        self.library = library

    def _add_context(self, ref: AssetRef, context: dict[str, str]) -> None:
        """Every context write: no value may end in a backslash, which the SDK would leave to
        swallow the `|` after it. Names cannot hold one; free text (a reason) loses it."""
        self.library.add_context([ref.public_id], {k: v.rstrip("\\") for k, v in context.items()},
                                 ref.delivery_type)

    def result(self, asset: Asset, context: dict[str, str], tags: list[str]) -> None:
        """Context first, then names and the marker in one call: never a marker without its
        result. Stale status tags go before, to leave room under Cloudinary's 1,000 tags; tags
        it refuses all the same are the asset's problem."""
        delivery_type = asset.ref.delivery_type
        self._add_context(asset.ref, context)
        stale = stale_tags(asset, self.settings, tags)
        if stale:
            self.library.remove_tags([asset.public_id], stale, delivery_type)
        try:
            self.library.add_tags([asset.public_id], [*tags, self.settings.marker_tag],
                                  delivery_type)
        except WriteRefused:
            raise AssetProblem(TAGS_REFUSED, _face_ids(context.get(FACE_IDS, "")),
                               context.get(LABEL, "")) from None

    def error(self, asset: Asset, problem: AssetProblem) -> None:
        s = self.settings
        self._add_context(asset.ref,
                          error_context(asset, str(problem), problem.label, problem.face_ids))
        try:
            self.library.add_tags([asset.public_id], [s.error_tag, s.marker_tag],
                                  asset.ref.delivery_type)
        except WriteRefused:
            # No tag fits (the asset is at Cloudinary's limit): the reason is in its context,
            # and without the marker reconciliation looks at it again once tags are removed.
            log.warning("error tag refused", extra={"asset_id": asset.asset_id})

    def untrained(self, ref: AssetRef) -> None:
        self.library.remove_tags([ref.public_id], [self.settings.trained_tag], ref.delivery_type)
        self._add_context(ref, untrained_context())

    def rejected(self, rejections: Iterable[tuple[Asset, Iterable[str]]]) -> None:
        """Each asset's rejected names; assets given the same value share one call (the
        library sends up to 1,000 public ids a call), so a bulk edit costs a few calls."""
        groups: dict[tuple[str, str], list[str]] = {}
        for asset, names in rejections:
            value = rejected_context(names)[REJECTED]
            groups.setdefault((asset.ref.delivery_type, value), []).append(asset.public_id)
        for (delivery_type, value), public_ids in groups.items():
            self.library.add_context(public_ids, {REJECTED: value}, delivery_type)
