"""The flows: training, untraining, recognition, retroactive tagging, human corrections.

State lives on the assets (tags and `facetag_*` context) and in the Rekognition collection;
see docs/design.md. Every flow is idempotent: a notification delivered twice, or an asset
processed again with the same version and settings, changes nothing and indexes no new face.

Failures that a later attempt may fix (throttling past botocore's retries, Cloudinary 5xx,
timeouts) propagate to the caller, which answers so that Cloudinary retries; the asset then
still lacks its processed marker, so reconciliation finds it too. Failures that no retry fixes
(no face on a training photo, an unreadable image, a name that cannot be used) are written on
the asset as `facetag:error` with a readable reason.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from . import metrics
from .assets import Asset, AssetRef
from .face_errors import UnusableImage
from .faces import FaceIndex, StoredFace
from .library import MediaLibrary
from .library_errors import AssetGone, DeliveryRefused
from .names import InvalidName, PersonName
from .notifications import (
    AssetsDeleted,
    AssetUploaded,
    ContextChanged,
    Event,
    Ignored,
    TagsChanged,
    Trigger,
)
from .settings import Settings
from .stores import AssetLibrary, FaceStore

log = logging.getLogger("facetag.tagging")

# Context keys facetag owns; anything starting with this prefix is facetag's.
CTX = "facetag_"
CTX_FACES = "facetag_faces"
CTX_UNKNOWN = "facetag_unknown"
CTX_PEOPLE = "facetag_people"
CTX_SUGGESTED = "facetag_suggested"
CTX_FACE_IDS = "facetag_face_ids"
CTX_TRAINED = "facetag_trained"
CTX_ERROR = "facetag_error"
CTX_REJECTED = "facetag_rejected"
CTX_VERSION = "facetag_version"
CTX_LABEL = "facetag_label"

# A second face at least this fraction of the largest one's area competes with it, so a
# training photo does not show one dominant face.
COMPETING_FACE_AREA = 0.5
# Rekognition's own default for AssociateFaces: a new training face must look like the
# person's other training faces at least this much.
TRAINING_CONSISTENCY_THRESHOLD = 75.0


class AssetProblem(Exception):
    """A reason, readable by a librarian, why facetag cannot use this asset."""

    def __init__(self, reason: str, face_ids: Sequence[str] = (), label: str = "") -> None:
        super().__init__(reason)
        self.face_ids = tuple(face_ids)  # faces already indexed: kept so a retry reuses them
        self.label = label


@dataclass(frozen=True)
class Outcome:
    """What handling one event or asset did: for logs, webhook answers and reconciliation."""

    kind: str  # recognised, trained, untrained, rejected, forgotten, error, skipped, unchanged,
    #            ignored; "changed" for a notification that led to several of these
    detail: str = ""
    people: int = 0  # names written on the asset itself
    tagged_older: int = 0  # older assets given the person's tag by retroactive tagging

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}" if self.detail else self.kind


def _combined(outcomes: Sequence[Outcome]) -> Outcome:
    if not outcomes:
        return Outcome("ignored", "no change facetag acts on")
    if len(outcomes) == 1:
        return outcomes[0]
    return Outcome("changed", "; ".join(str(o) for o in outcomes),
                   sum(o.people for o in outcomes), sum(o.tagged_older for o in outcomes))


@dataclass(frozen=True)
class PersonHit:
    name: PersonName
    similarity: float


def _names_list(names: Iterable[PersonName]) -> str:
    return "; ".join(n.display for n in names)


class Tagger:
    """Turns notifications (and reconciliation's findings) into tags on assets."""

    def __init__(self, settings: Settings, faces: FaceStore, library: AssetLibrary,
                 own_api_key: str | None = None) -> None:
        self.settings = settings
        self.faces = faces
        self.library = library
        self.own_api_key = own_api_key

    # -- entry points --------------------------------------------------------------------

    def handle(self, event: Event) -> Outcome:
        """Process one notification event; returns a short outcome for logs and answers."""
        if isinstance(event, Ignored):
            return Outcome("ignored", event.reason)
        if isinstance(event, AssetUploaded):
            if not event.asset.is_image:
                return Outcome("ignored", "not an image")
            return self.process(event.asset)
        if isinstance(event, TagsChanged):
            return self._tags_changed(event)
        if isinstance(event, ContextChanged):
            return self._context_changed(event)
        if isinstance(event, AssetsDeleted):
            removed = self.forget_assets([r.asset_id for r in event.refs])
            return Outcome("forgotten", f"{removed} faces")
        return Outcome("ignored", "unknown event")

    def process(self, asset: Asset, force: bool = False) -> Outcome:
        """Train from or recognise one asset, whichever its labels ask for.

        `force` re-runs recognition even when the asset's marker is current (operator re-run).
        """
        s = self.settings
        if not asset.is_image:
            return Outcome("ignored", "not an image")
        if s.skip_tag in asset.tags:
            return Outcome("skipped", "tagged " + s.skip_tag)
        if not s.folder_allowed(asset.folder):
            return Outcome("skipped", "folder excluded")
        try:
            label = self.training_label(asset)
            if label is not None:
                return self.train(asset, label)
            return self.recognise(asset, force)
        except AssetProblem as problem:
            self._write_error(asset, problem)
            return Outcome("error", str(problem))

    # -- labels --------------------------------------------------------------------------

    def training_label(self, asset: Asset) -> PersonName | None:
        """The person an asset trains, from `train:<Name>` tags or the context key."""
        s = self.settings
        raw = [t[len(s.train_tag_prefix):] for t in asset.tags if t.startswith(s.train_tag_prefix)]
        ctx = asset.context.get(s.train_context_key, "")
        if ctx.strip():
            raw.append(ctx)
        if not raw:
            return None
        names: list[PersonName] = []
        for r in raw:
            try:
                names.append(PersonName.parse(r))
            except InvalidName as exc:
                raise AssetProblem(f"training name {r!r} cannot be used: {exc}") from None
        distinct = {n.display for n in names}
        if len(distinct) > 1:
            raise AssetProblem("the asset names more than one person to train: "
                               + ", ".join(sorted(distinct)))
        return names[0]

    # -- faces of an asset ---------------------------------------------------------------

    def _faces_of(self, asset: Asset) -> list[StoredFace]:
        """The asset's faces in the collection, indexing its derivative only when needed."""
        known = [f for f in asset.context.get(CTX_FACE_IDS, "").split(",") if f]
        same_version = asset.context.get(CTX_VERSION) == str(asset.version)
        if known and same_version:
            stored = self.faces.faces(known)
            if len(stored) == len(known):
                return sorted(stored, key=lambda f: f.box.area, reverse=True)
        elif known:
            self._drop_unassociated(known)
        try:
            image = self.library.download_derivative(asset.ref, asset.version)
        except (AssetGone, DeliveryRefused) as exc:
            raise AssetProblem(str(exc)) from None
        try:
            result = self.faces.index_faces(image, asset.asset_id)
        except UnusableImage as exc:
            raise AssetProblem(exc.reason) from None
        return [StoredFace(f.face_id, asset.asset_id, None, f.box) for f in result.faces]

    def _drop_unassociated(self, face_ids: Sequence[str]) -> None:
        """Faces of an overwritten version: gone from the photo, so gone from the index."""
        stale = [f.face_id for f in self.faces.faces(face_ids) if not f.user_id]
        if stale:
            self.faces.delete_faces(stale)

    def _usable(self, asset: Asset, faces: Sequence[StoredFace]) -> list[StoredFace]:
        """Faces large enough on the derivative to be matched with confidence."""
        if not asset.width or not asset.height:
            return list(faces)
        scale = min(1.0, self.settings.derivative_size / max(asset.width, asset.height))
        w, h = asset.width * scale, asset.height * scale
        return [f for f in faces
                if min(f.box.width * w, f.box.height * h) >= self.settings.min_face_px]

    # -- recognition ---------------------------------------------------------------------

    def is_current(self, asset: Asset) -> bool:
        return (self.settings.marker_tag in asset.tags
                and asset.context.get(CTX_VERSION) == str(asset.version))

    def recognise(self, asset: Asset, force: bool = False) -> Outcome:
        s = self.settings
        if not force and self.is_current(asset):
            return Outcome("unchanged", "already processed")
        started = time.monotonic()
        faces = self._faces_of(asset)
        usable = self._usable(asset, faces)
        rejected = self._rejected(asset)
        best: dict[str, PersonHit] = {}
        unknown = len(faces) - len(usable)
        for face in usable:
            match = self.faces.search_users(face.face_id, s.suggest_threshold)
            hit = self._person(match.user_id) if match else None
            if match is None or hit is None:
                unknown += 1
                continue
            name, hidden = hit
            if hidden or name.display in rejected:
                continue
            # One person appears at most once per photo: keep the better match.
            current = best.get(name.display)
            if current is None or match.similarity > current.similarity:
                best[name.display] = PersonHit(name, match.similarity)
        people = sorted((h for h in best.values() if h.similarity >= s.match_threshold),
                        key=lambda h: h.name.display)
        suggested = sorted((h for h in best.values() if h.similarity < s.match_threshold),
                           key=lambda h: h.name.display)
        self._write_result(
            asset,
            context={
                CTX_FACES: str(len(faces)), CTX_UNKNOWN: str(unknown),
                CTX_PEOPLE: _names_list(h.name for h in people),
                CTX_SUGGESTED: _names_list(h.name for h in suggested),
                CTX_FACE_IDS: ",".join(f.face_id for f in faces),
                CTX_VERSION: str(asset.version), CTX_ERROR: "",
            },
            tags=[s.person_tag_prefix + h.name.display for h in people]
            + [s.suggest_tag_prefix + h.name.display for h in suggested],
        )
        log.info("recognised", extra={
            "asset_id": asset.asset_id, "outcome": "recognised", "faces": len(faces),
            "people": len(people), "suggestions": len(suggested), "unknown": unknown,
            "ms": round((time.monotonic() - started) * 1000),
        })
        metrics.emit({"AssetsProcessed": 1, "Faces": len(faces), "Matches": len(people),
                      "Suggestions": len(suggested)}, asset.asset_id)
        return Outcome("recognised", f"{len(people)} people, {len(suggested)} suggested, "
                                     f"{unknown} unknown", people=len(people))

    def _person(self, user_id: str) -> tuple[PersonName, bool] | None:
        try:
            return PersonName.from_user_id(user_id)
        except ValueError:
            return None  # a user someone else created in the collection: not facetag's

    def _rejected(self, asset: Asset) -> set[str]:
        raw = asset.context.get(CTX_REJECTED, "")
        try:
            names = json.loads(raw) if raw else []
        except ValueError:
            return set()
        return {str(n) for n in names} if isinstance(names, list) else set()

    # -- training ------------------------------------------------------------------------

    def train(self, asset: Asset, name: PersonName) -> Outcome:
        s = self.settings
        if asset.context.get(CTX_LABEL) == name.display and self.is_current(asset):
            return Outcome("unchanged", f"already trains {name.display}")
        previous = asset.context.get(CTX_TRAINED)
        if previous and previous != name.display:
            self.untrain(asset.ref, PersonName.parse(previous), write=False)
        try:
            faces = self._faces_of(asset)
        except AssetProblem as problem:
            raise AssetProblem(str(problem), label=name.display) from None
        face_ids = [f.face_id for f in faces]
        try:
            face = self._dominant_face(asset, faces)
            user_id = self._user_id_for(name)
            self.faces.ensure_user(user_id)
            outcome = self.faces.associate(user_id, [face.face_id],
                                           TRAINING_CONSISTENCY_THRESHOLD)
            for _, reasons, confidence in outcome.refused:
                if "LOW_MATCH_CONFIDENCE" in reasons:
                    raise AssetProblem(
                        f"this face does not look like the other training photos of "
                        f"{name.display} (similarity {confidence:.0f})")
                if "ASSOCIATED_TO_A_DIFFERENT_USER" in reasons:
                    raise AssetProblem("this face already trains another person")
                raise AssetProblem(f"Rekognition refused the face ({', '.join(reasons)})")
        except AssetProblem as problem:
            raise AssetProblem(str(problem), face_ids, name.display) from None
        self._write_result(
            asset,
            context={CTX_TRAINED: name.display, CTX_LABEL: name.display,
                     CTX_FACES: str(len(faces)), CTX_FACE_IDS: ",".join(face_ids),
                     CTX_VERSION: str(asset.version), CTX_ERROR: ""},
            tags=[s.person_tag_prefix + name.display, s.trained_tag],
        )
        tagged = self.tag_older_assets(name, face.face_id, exclude=asset.asset_id)
        log.info("trained", extra={"asset_id": asset.asset_id, "outcome": "trained",
                                   "faces": len(faces), "retroactive": tagged})
        metrics.emit({"AssetsProcessed": 1, "Trained": 1, "Faces": len(faces), "Matches": tagged},
                     asset.asset_id)
        return Outcome("trained", f"{name.display}; tagged {tagged} older assets", people=1,
                       tagged_older=tagged)

    def _dominant_face(self, asset: Asset, faces: Sequence[StoredFace]) -> StoredFace:
        if not faces:
            raise AssetProblem("no face found on the training photo")
        usable = self._usable(asset, faces)
        if not usable:
            raise AssetProblem("the face is too small or blurred to train from")
        if len(usable) > 1 and usable[1].box.area >= COMPETING_FACE_AREA * usable[0].box.area:
            raise AssetProblem(f"{len(usable)} faces of similar size: a training photo must "
                               "show one person clearly")
        return usable[0]

    def _user_id_for(self, name: PersonName) -> str:
        """The person's user, hidden or not (a hidden person keeps collecting faces)."""
        if self.faces.user_faces(name.hidden_user_id):
            return name.hidden_user_id
        return name.user_id

    def untrain(self, ref: AssetRef, name: PersonName, write: bool = True) -> Outcome:
        """This asset's face stops counting for `name`; a person left without faces goes."""
        removed = 0
        for user_id in (name.user_id, name.hidden_user_id):
            faces = self.faces.user_faces(user_id)
            mine = [f.face_id for f in faces if f.asset_id == ref.asset_id]
            if mine:
                self.faces.disassociate(user_id, mine)
                removed += len(mine)
            if faces and len(mine) == len(faces):
                self.faces.delete_user(user_id)
        # No face of this asset trained `name` (e.g. an operator renamed the person, and this
        # is the echo of the old label's removal): the asset's training state is not ours.
        if write and removed:
            self.library.remove_tags([ref.public_id], [self.settings.trained_tag],
                                     ref.delivery_type)
            self.library.add_context([ref.public_id], {CTX_TRAINED: "", CTX_LABEL: ""},
                                     ref.delivery_type)
        log.info("untrained", extra={"asset_id": ref.asset_id, "outcome": "untrained",
                                     "faces": removed})
        return Outcome("untrained", name.display)

    # -- retroactive tagging -------------------------------------------------------------

    def tag_older_assets(self, name: PersonName, face_id: str, exclude: str = "") -> int:
        """Tag every earlier asset whose faces match a new training face: one search, then
        batched Cloudinary calls (100 ids per read, 1000 per tag write)."""
        s = self.settings
        best: dict[str, float] = {}
        for m in self.faces.search_faces(face_id, s.suggest_threshold):
            if m.asset_id and m.asset_id != exclude:
                best[m.asset_id] = max(best.get(m.asset_id, 0.0), m.similarity)
        if not best:
            return 0
        person_tag = s.person_tag_prefix + name.display
        suggest_tag = s.suggest_tag_prefix + name.display
        confident: dict[str, list[str]] = {}
        suggested: dict[str, list[str]] = {}
        for asset in self.library.assets_by_ids(list(best)).values():
            if (not asset.is_image or s.skip_tag in asset.tags
                    or not s.folder_allowed(asset.folder)
                    or name.display in self._rejected(asset) or person_tag in asset.tags):
                continue
            target = confident if best[asset.asset_id] >= s.match_threshold else suggested
            if target is suggested and suggest_tag in asset.tags:
                continue
            target.setdefault(asset.ref.delivery_type, []).append(asset.public_id)
        tagged = 0
        for delivery_type, ids in confident.items():
            tagged += len(self.library.add_tags(ids, [person_tag], delivery_type))
        for delivery_type, ids in suggested.items():
            self.library.add_tags(ids, [suggest_tag], delivery_type)
        return tagged

    # -- human corrections ---------------------------------------------------------------

    def _own(self, trigger: Trigger) -> bool:
        return bool(self.own_api_key) and trigger.id == self.own_api_key

    def _tags_changed(self, event: TagsChanged) -> Outcome:
        s = self.settings
        if event.ref.resource_type != "image":
            return Outcome("ignored", "not an image")
        train_added = [t for t in event.added if t.startswith(s.train_tag_prefix)]
        train_removed = [t for t in event.removed if t.startswith(s.train_tag_prefix)]
        named_removed = [t for t in event.removed
                         if t.startswith((s.person_tag_prefix, s.suggest_tag_prefix))]
        outcomes: list[Outcome] = []
        if named_removed and not self._own(event.trigger):
            outcomes.append(self._remember_rejections(event.ref, named_removed))
        for tag in train_removed:
            if tag not in train_added:
                try:
                    name = PersonName.parse(tag[len(s.train_tag_prefix):])
                except InvalidName:
                    continue  # never trained: nothing to undo
                outcomes.append(self.untrain(event.ref, name))
        if train_added or s.skip_tag in event.removed:
            asset = self.library.asset(event.ref.asset_id)
            outcomes.append(self.process(asset) if asset else Outcome("ignored", "asset gone"))
        return _combined(outcomes)

    def _context_changed(self, event: ContextChanged) -> Outcome:
        key = self.settings.train_context_key
        if event.ref.resource_type != "image":
            return Outcome("ignored", "not an image")
        if key not in event.changed and key not in event.removed:
            return Outcome("ignored", "no change facetag acts on")
        asset = self.library.asset(event.ref.asset_id)
        if asset is None:
            return Outcome("ignored", "asset gone")
        if key in event.removed and self.training_label(asset) is None:
            trained = asset.context.get(CTX_TRAINED)
            if not trained:
                return Outcome("ignored", "asset was not training")
            return self.untrain(asset.ref, PersonName.parse(trained))
        return self.process(asset)

    def _remember_rejections(self, ref: AssetRef, tags: Sequence[str]) -> Outcome:
        """A librarian removed a name facetag wrote: never write it on this asset again."""
        s = self.settings
        names = {t[len(s.person_tag_prefix):] if t.startswith(s.person_tag_prefix)
                 else t[len(s.suggest_tag_prefix):] for t in tags}
        asset = self.library.asset(ref.asset_id)
        if asset is None:
            return Outcome("ignored", "asset gone")
        # A suggestion replaced by the person's tag was confirmed, not rejected.
        names -= {t[len(s.person_tag_prefix):] for t in asset.tags
                  if t.startswith(s.person_tag_prefix)}
        if not names:
            return Outcome("ignored", "suggestion confirmed")
        rejected = self._rejected(asset) | names
        self.library.add_context([asset.public_id],
                                 {CTX_REJECTED: json.dumps(sorted(rejected), ensure_ascii=False)},
                                 asset.ref.delivery_type)
        log.info("rejection remembered", extra={"asset_id": ref.asset_id, "outcome": "rejected",
                                                "names": sorted(names)})
        return Outcome("rejected", ", ".join(sorted(names)))

    # -- deletions -----------------------------------------------------------------------

    def forget_assets(self, asset_ids: Iterable[str]) -> int:
        """Remove the faces of deleted assets; people left without faces are removed."""
        gone = set(asset_ids)
        if not gone:
            return 0
        doomed = [f for f in self.faces.all_faces() if f.asset_id in gone]
        by_user: dict[str, list[str]] = {}
        for f in doomed:
            if f.user_id:
                by_user.setdefault(f.user_id, []).append(f.face_id)
        for user_id, face_ids in by_user.items():
            self.faces.disassociate(user_id, face_ids)
            if not self.faces.user_faces(user_id):
                self.faces.delete_user(user_id)
        if doomed:
            self.faces.delete_faces([f.face_id for f in doomed])
        log.info("forgot assets", extra={"outcome": "forgotten", "assets": len(gone),
                                         "faces": len(doomed)})
        return len(doomed)

    # -- writes --------------------------------------------------------------------------

    def _write_result(self, asset: Asset, context: dict[str, str], tags: list[str]) -> None:
        """Context first, then names and the marker in one call: never a marker without its
        result."""
        s = self.settings
        delivery_type = asset.ref.delivery_type
        self.library.add_context([asset.public_id], context, delivery_type)
        self.library.add_tags([asset.public_id], tags + [s.marker_tag], delivery_type)
        stale = [t for t in asset.tags
                 if (t.startswith(s.marker_prefix) and t != s.marker_tag) or t == s.error_tag]
        if stale:
            self.library.remove_tags([asset.public_id], stale, delivery_type)

    def _write_error(self, asset: Asset, problem: AssetProblem) -> None:
        s = self.settings
        log.warning("asset refused", extra={"asset_id": asset.asset_id, "outcome": "error",
                                            "reason": str(problem)})
        metrics.emit({"AssetsProcessed": 1, "Errors": 1}, asset.asset_id)
        context = {CTX_ERROR: str(problem), CTX_VERSION: str(asset.version),
                   CTX_LABEL: problem.label}
        if problem.face_ids:
            context[CTX_FACE_IDS] = ",".join(problem.face_ids)
        self.library.add_context([asset.public_id], context, asset.ref.delivery_type)
        self.library.add_tags([asset.public_id], [s.error_tag, s.marker_tag],
                              asset.ref.delivery_type)
