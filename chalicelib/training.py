"""Training (a name put on a photo), untraining, and retroactive tagging of older assets."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from . import metrics, state, unnamed
from .asset_faces import AssetFaces
from .assets import Asset
from .decide import left_alone
from .face_errors import LimitReached
from .face_values import StoredFace
from .library_errors import WriteRefused
from .names import PersonName
from .naming import Naming, UnknownUnnamed
from .outcome import AssetProblem, Outcome, OutcomeKind
from .settings import Settings
from .state import StateWriter
from .stores import AssetLibrary, FaceStore

log = logging.getLogger("facetag.training")

# A second face at least this fraction of the largest one's area competes with it, so a
# training photo does not show one dominant face.
COMPETING_FACE_AREA = 0.5
# Rekognition's own default for AssociateFaces: a new training face must look like the
# person's other training faces at least this much.
TRAINING_CONSISTENCY_THRESHOLD = 75.0
# Rekognition keeps at most 100 faces per user. A person at 100 refuses further training photos
# (facetag:error says so) rather than keeping "the best 100": Rekognition gives no measure of
# which training face helps most, and dropping one would silently untrain a photo a librarian
# chose. A librarian makes room by removing the training label from another photo.
MAX_FACES_PER_PERSON = 100


def _person_full(name: PersonName) -> AssetProblem:
    return AssetProblem(
        f"{name.display} already has {MAX_FACES_PER_PERSON} training photos, Rekognition's limit "
        f"for one person: to train from this photo, remove the training label from another "
        f"photo of {name.display}, then upload this one again")


class Trainer:
    def __init__(self, settings: Settings, faces: FaceStore, library: AssetLibrary,
                 asset_faces: AssetFaces, writer: StateWriter) -> None:
        self.settings = settings
        self.faces = faces
        self.library = library
        self.asset_faces = asset_faces
        self.writer = writer
        self.naming = Naming(settings, faces, library)

    def train(self, asset: Asset, name: PersonName) -> Outcome:
        s = self.settings
        # A claim: untraining touches only faces the collection says come from this asset.
        previous = state.read(asset, s).trained
        if previous is not None and previous != name:
            self._release(asset.asset_id, previous)
        try:
            faces = self.asset_faces.of(asset)
        except AssetProblem as problem:
            raise AssetProblem(str(problem), label=name.display) from None
        face_ids = [f.face_id for f in faces]
        try:
            face = self._dominant_face(asset, faces)
            absorbed = self._absorb_unnamed(asset, face, name)
            self._associate(name, face)
        except AssetProblem as problem:
            raise AssetProblem(str(problem), face_ids, name.display) from None
        self.writer.result(asset, state.trained_context(asset, name, face_ids),
                           [s.person_tag_prefix + name.display, s.trained_tag])
        tagged = absorbed + self.tag_older_assets(name, face.face_id, exclude=asset.asset_id)
        log.info("trained", extra={"asset_id": asset.asset_id, "outcome": OutcomeKind.TRAINED,
                                   "faces": len(faces), "retroactive": tagged})
        metrics.emit({"AssetsProcessed": 1, "Trained": 1, "Faces": len(faces), "Matches": tagged},
                     asset.asset_id)
        return Outcome(OutcomeKind.TRAINED, f"{name.display}; tagged {tagged} older assets",
                       people=1, tagged_older=tagged)

    def _absorb_unnamed(self, asset: Asset, face: StoredFace, name: PersonName) -> int:
        """The unnamed people this face is (held or joined) or matches become `name`'s: photos
        recognised before the person was trained (after a lost collection, say) formed one.
        One SearchUsers at the match threshold; it names at most `USER_MATCHES` users, each
        absorbed at naming's cost (a few Rekognition calls, batched tag writes). Returns the
        other photos whose unnamed tag became the person's."""
        s = self.settings
        matches = self.faces.user_matches(face.face_id, s.match_threshold)
        found = [m.user_id for m in matches if unnamed.is_unnamed(m.user_id)]
        # The face is held by an unnamed person, or joined one (recorded on this photo).
        own = face.user_id or state.standing_joins(asset, s).get(face.face_id)
        if unnamed.is_unnamed(own):
            found.insert(0, own)
        tagged = 0
        for user_id in dict.fromkeys(found):
            try:
                named = self.naming.give_name(user_id, name, first=face.face_id)
            except UnknownUnnamed:
                continue  # merged or named by another worker since the search
            tagged += named.assets - (unnamed.tag(user_id, s) in asset.tags)
        return tagged

    def _associate(self, name: PersonName, face: StoredFace, attempts: int = 2) -> None:
        user_id = self._user_id_for(name)
        self.faces.ensure_user(user_id)
        try:
            outcome = self.faces.associate(user_id, [face.face_id],
                                           TRAINING_CONSISTENCY_THRESHOLD)
        except LimitReached:
            raise _person_full(name) from None
        for _, reasons, confidence in outcome.refused:
            # Rekognition gives no reason for a face past the user's limit.
            if not reasons and len(self.faces.user_faces(user_id)) >= MAX_FACES_PER_PERSON:
                raise _person_full(name)
            if "LOW_MATCH_CONFIDENCE" in reasons:
                raise AssetProblem(
                    f"this face does not look like the other training photos of "
                    f"{name.display} (similarity {confidence:.0f})")
            if "ASSOCIATED_TO_A_DIFFERENT_USER" in reasons:
                owner = next((f.user_id for f in self.faces.faces([face.face_id])), None)
                if unnamed.is_unnamed(owner):  # another worker founded it since the search
                    try:
                        self.naming.give_name(owner, name, first=face.face_id)
                    except UnknownUnnamed:  # and named or merged it since: where is it now?
                        if attempts <= 1:
                            raise
                        self._associate(name, face, attempts - 1)
                    return
                raise AssetProblem("this face already trains another person")
            raise AssetProblem(f"Rekognition refused the face ({', '.join(reasons)})")

    def _dominant_face(self, asset: Asset, faces: Sequence[StoredFace]) -> StoredFace:
        if not faces:
            raise AssetProblem("no face found on the training photo")
        usable = self.asset_faces.usable(asset, faces)
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

    def untrain(self, asset_id: str, name: PersonName, asset: Asset | None) -> Outcome:
        """The asset's faces stop counting for `name`; a person left without faces goes.

        `asset` is the asset as read now (None when it is gone), and it is written where it is
        now, never where a notification said it was: renamed since, its old public_id may be
        another asset's. It is written when one of its faces was released, or when it still
        says it trains `name` although none of its faces does (they went with a collection
        deleted outside facetag, and the claim goes too). After an operator's rename it names
        the new person (this is the echo of the old label's removal): not ours to undo."""
        removed = self._release(asset_id, name)
        if asset is not None and (removed or state.read(asset, self.settings).trained == name):
            self.writer.untrained(asset.ref)
        return Outcome(OutcomeKind.UNTRAINED, name.display)

    def _release(self, asset_id: str, name: PersonName) -> int:
        """Disassociate the asset's faces from the person; returns how many there were."""
        removed = 0
        for user_id in (name.user_id, name.hidden_user_id):
            faces = self.faces.user_faces(user_id)
            mine = [f.face_id for f in faces if f.asset_id == asset_id]
            if mine:
                self.faces.disassociate(user_id, mine)
                removed += len(mine)
            if faces and len(mine) == len(faces):
                self.faces.delete_user(user_id)
        log.info("untrained", extra={"asset_id": asset_id, "outcome": OutcomeKind.UNTRAINED,
                                     "faces": removed})
        return removed

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
            if (left_alone(asset, s) is not None
                    or name.display in state.read(asset, s).rejected
                    or person_tag in asset.tags):
                continue
            target = confident if best[asset.asset_id] >= s.match_threshold else suggested
            if target is suggested and suggest_tag in asset.tags:
                continue
            target.setdefault(asset.ref.delivery_type, []).append(asset.public_id)
        tagged = 0
        for delivery_type, ids in confident.items():
            tagged += self._tag(ids, person_tag, delivery_type)
        for delivery_type, ids in suggested.items():
            self._tag(ids, suggest_tag, delivery_type)
        return tagged

    def _tag(self, public_ids: list[str], tag: str, delivery_type: str) -> int:
        """Assets tagged; one Cloudinary refuses (at its 1,000 tags) is left without the tag."""
        try:
            return len(self.library.add_tags(public_ids, [tag], delivery_type))
        except WriteRefused as refused:
            log.warning("retroactive tag refused", extra={"refused": len(refused.refused),
                                                          "reason": refused.reason})
            return len(refused.applied)
