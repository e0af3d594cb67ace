"""Recognition: every usable face of an asset matched to the best person, written back."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from . import metrics, state
from .asset_faces import AssetFaces
from .assets import Asset
from .clusters import Clusters, Moved, Placed
from .face_values import StoredFace, UserMatch
from .names import PersonName
from .outcome import Outcome, OutcomeKind
from .settings import Settings
from .state import StateWriter
from .stores import FaceStore

log = logging.getLogger("facetag.recognition")

# Searches of one face whose unnamed person keeps changing under it: two races in a row are
# already rare; past them the face is left unknown rather than the message failed.
PLACING_ATTEMPTS = 3


@dataclass(frozen=True)
class PersonHit:
    name: PersonName
    similarity: float


def person_of(user_id: str) -> tuple[PersonName, bool] | None:
    """(name, hidden) of a facetag person; None for an unnamed person or a user someone else
    created."""
    try:
        return PersonName.from_user_id(user_id)
    except ValueError:
        return None


def best_person(matches: list[UserMatch]) -> tuple[UserMatch, PersonName, bool] | None:
    """The best match that is a named person (hidden or not), past unnamed and foreign users."""
    for match in matches:
        hit = person_of(match.user_id)
        if hit is not None:
            return match, *hit
    return None


class Recogniser:
    def __init__(self, settings: Settings, faces: FaceStore, asset_faces: AssetFaces,
                 writer: StateWriter) -> None:
        self.settings = settings
        self.faces = faces
        self.asset_faces = asset_faces
        self.writer = writer
        self.clusters = Clusters(settings, faces, asset_faces.library)

    def _match(self, face: StoredFace) -> tuple[list[UserMatch], Placed | None]:
        """The users the face matches, and the unnamed person it is placed with when none is
        a named person. An unnamed person named, merged or deleted by another worker while it
        was being used: the face is searched again (`PLACING_ATTEMPTS` in all), then left
        unknown, unassigned like any face nobody matched (later faces still find it)."""
        threshold = self.settings.suggest_threshold
        for _ in range(PLACING_ATTEMPTS):
            matches = self.faces.user_matches(face.face_id, threshold)
            if best_person(matches) is not None:
                return matches, None
            try:
                return matches, self.clusters.place(face, matches)
            except Moved as moved:
                log.info("unnamed person changed meanwhile: searching again",
                         extra={"face_id": face.face_id, "user_id": moved.user_id})
        return matches, None

    def recognise(self, asset: Asset) -> Outcome:
        s = self.settings
        started = time.monotonic()
        faces = self.asset_faces.of(asset)
        usable = self.asset_faces.usable(asset, faces)
        rejected = state.read(asset, s).rejected
        best: dict[str, PersonHit] = {}
        unknown = len(faces) - len(usable)
        unnamed: set[str] = set()
        joined: dict[str, str] = {}  # face id -> the unnamed person it joined, unassociated
        for face in usable:
            matches, placed = self._match(face)
            hit = best_person(matches)
            if hit is None:
                unknown += 1
                if placed:
                    unnamed.add(placed.user_id)
                    if not placed.held:
                        joined[face.face_id] = placed.user_id
                continue
            match, name, hidden = hit
            if hidden or name.display in rejected:
                continue
            # One person appears at most once per photo: keep the better match.
            current = best.get(name.display)
            if current is None or match.similarity > current.similarity:
                best[name.display] = PersonHit(name, match.similarity)
        people = sorted((h.name for h in best.values() if h.similarity >= s.match_threshold),
                        key=lambda n: n.display)
        suggested = sorted((h.name for h in best.values() if h.similarity < s.match_threshold),
                           key=lambda n: n.display)
        self.writer.result(
            asset,
            state.recognised_context(asset, len(faces), unknown, people, suggested,
                                     (f.face_id for f in faces), joined),
            [s.person_tag_prefix + n.display for n in people]
            + [s.suggest_tag_prefix + n.display for n in suggested]
            + state.unnamed_tags(unnamed, asset, s),
        )
        log.info("recognised", extra={
            "asset_id": asset.asset_id, "outcome": OutcomeKind.RECOGNISED, "faces": len(faces),
            "people": len(people), "suggestions": len(suggested), "unknown": unknown,
            "unnamed": len(unnamed), "ms": round((time.monotonic() - started) * 1000),
        })
        metrics.emit({"AssetsProcessed": 1, "Faces": len(faces), "Matches": len(people),
                      "Suggestions": len(suggested)}, asset.asset_id)
        return Outcome(OutcomeKind.RECOGNISED, f"{len(people)} people, {len(suggested)} "
                       f"suggested, {unknown} unknown", people=len(people))
