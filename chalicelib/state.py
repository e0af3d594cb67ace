"""facetag's state on an asset: every `facetag_*` context key and facetag tag, one codec.

What facetag writes on an asset is read back by the flows, reconciliation and the operator
actions, always through `AssetState` and the `*_context` builders here, never by key.

Encodings (context values are strings; the SDK escapes `=` and `|`):
- counts (`facetag_faces`, `facetag_unknown`): decimal numbers;
- names shown to librarians (`facetag_people`, `facetag_suggested`): `; `-joined display names;
- `facetag_face_ids`: `,`-joined Rekognition FaceIds (UUIDs, never a comma);
- `facetag_rejected`: a JSON list of display names (any character can be in a name);
- `facetag_asset_version`: the Cloudinary version of the asset last processed. Assets processed
  before this key existed carry it as `facetag_version`, which is still read.
An empty value deletes a key (Cloudinary's `add_context` semantics).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from .assets import Asset, AssetRef
from .names import PersonName
from .outcome import AssetProblem
from .settings import Settings
from .stores import AssetLibrary

FACES = "facetag_faces"
UNKNOWN = "facetag_unknown"
PEOPLE = "facetag_people"
SUGGESTED = "facetag_suggested"
FACE_IDS = "facetag_face_ids"
TRAINED = "facetag_trained"  # the person this asset trains
LABEL = "facetag_label"  # the training label last acted on (also when it failed)
ERROR = "facetag_error"
REJECTED = "facetag_rejected"
ASSET_VERSION = "facetag_asset_version"
LEGACY_ASSET_VERSION = "facetag_version"


@dataclass(frozen=True)
class AssetState:
    """What facetag has written on one asset, decoded."""

    marker_current: bool  # the processed marker of the current settings is on the asset
    asset_version: str  # the asset version last processed ("" when never)
    face_ids: tuple[str, ...]
    trained: str  # "" when the asset trains nobody
    label: str
    error: str
    rejected: frozenset[str]

    def processed(self, asset: Asset) -> bool:
        """This version of the asset was processed with the current settings."""
        return self.marker_current and self.asset_version == str(asset.version)


def read(asset: Asset, settings: Settings) -> AssetState:
    ctx = asset.context
    return AssetState(
        marker_current=settings.marker_tag in asset.tags,
        asset_version=ctx.get(ASSET_VERSION) or ctx.get(LEGACY_ASSET_VERSION, ""),
        face_ids=tuple(f for f in ctx.get(FACE_IDS, "").split(",") if f),
        trained=ctx.get(TRAINED, ""),
        label=ctx.get(LABEL, ""),
        error=ctx.get(ERROR, ""),
        rejected=_rejected(ctx.get(REJECTED, "")),
    )


def _rejected(raw: str) -> frozenset[str]:
    try:
        names = json.loads(raw) if raw else []
    except ValueError:
        return frozenset()
    return frozenset(str(n) for n in names) if isinstance(names, list) else frozenset()


def _names(names: Iterable[PersonName]) -> str:
    return "; ".join(n.display for n in names)


def _processed(asset: Asset, face_ids: Iterable[str]) -> dict[str, str]:
    """Keys every processing result carries; the legacy version key is dropped."""
    return {FACE_IDS: ",".join(face_ids), ASSET_VERSION: str(asset.version),
            LEGACY_ASSET_VERSION: "", ERROR: ""}


def recognised_context(asset: Asset, faces: int, unknown: int, people: Iterable[PersonName],
                       suggested: Iterable[PersonName], face_ids: Iterable[str]
                       ) -> dict[str, str]:
    return {**_processed(asset, face_ids), FACES: str(faces), UNKNOWN: str(unknown),
            PEOPLE: _names(people), SUGGESTED: _names(suggested)}


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


def stale_tags(asset: Asset, settings: Settings) -> list[str]:
    """facetag's own status tags that a new result replaces."""
    return [t for t in asset.tags
            if (t.startswith(settings.marker_prefix) and t != settings.marker_tag)
            or t == settings.error_tag]


def tagged_names(tags: Iterable[str], prefix: str) -> set[str]:
    return {t[len(prefix):] for t in tags if t.startswith(prefix)}


class StateWriter:
    """Writes facetag's state on assets through the library's merging Upload API calls."""

    def __init__(self, settings: Settings, library: AssetLibrary) -> None:
        self.settings = settings
        self.library = library

    def result(self, asset: Asset, context: dict[str, str], tags: list[str]) -> None:
        """Context first, then names and the marker in one call: never a marker without its
        result."""
        delivery_type = asset.ref.delivery_type
        self.library.add_context([asset.public_id], context, delivery_type)
        self.library.add_tags([asset.public_id], [*tags, self.settings.marker_tag],
                              delivery_type)
        stale = stale_tags(asset, self.settings)
        if stale:
            self.library.remove_tags([asset.public_id], stale, delivery_type)

    def error(self, asset: Asset, problem: AssetProblem) -> None:
        s = self.settings
        self.library.add_context(
            [asset.public_id],
            error_context(asset, str(problem), problem.label, problem.face_ids),
            asset.ref.delivery_type)
        self.library.add_tags([asset.public_id], [s.error_tag, s.marker_tag],
                              asset.ref.delivery_type)

    def untrained(self, ref: AssetRef) -> None:
        self.library.remove_tags([ref.public_id], [self.settings.trained_tag], ref.delivery_type)
        self.library.add_context([ref.public_id], untrained_context(), ref.delivery_type)

    def rejected(self, rejections: Iterable[tuple[Asset, Iterable[str]]]) -> None:
        """Each asset's rejected names; assets given the same value share one call (the
        library sends up to 1,000 public ids a call), so a bulk edit costs a few calls."""
        groups: dict[tuple[str, str], list[str]] = {}
        for asset, names in rejections:
            value = rejected_context(names)[REJECTED]
            groups.setdefault((asset.ref.delivery_type, value), []).append(asset.public_id)
        for (delivery_type, value), public_ids in groups.items():
            self.library.add_context(public_ids, {REJECTED: value}, delivery_type)
