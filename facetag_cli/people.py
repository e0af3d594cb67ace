"""Operator actions on persons: list, rename (and merge), forget, hide, reset.

A person is a Rekognition user (`p:` + encoded name, `h:` while hidden) holding the faces of
their training photos, plus the `person:`/`suggested:`/`train:` tags on Cloudinary assets.
Actions change both sides. Faces move between users by disassociating and associating them
again (no similarity check: the operator decided). Tags are rewritten in batched Upload API
calls (up to 1000 assets per call); the assets are found with one search, read completely
before any write, because the writes change what the search would return.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chalicelib import state
from chalicelib.assets import Asset
from chalicelib.face_errors import CollectionMissing
from chalicelib.face_values import StoredFace
from chalicelib.library import quoted
from chalicelib.library_search import every_asset
from chalicelib.names import PersonName
from chalicelib.recognition import person_of
from chalicelib.tagging import Tagger

# Operator moves keep every face: 0 disables AssociateFaces' similarity check.
NO_SIMILARITY_CHECK = 0.0


class UnknownPerson(LookupError):
    """No face and no tag carries this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"facetag knows no person named {name!r}: `facetag people` lists them.")


class SameName(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"{name!r} already has that name: nothing to rename.")


@dataclass(frozen=True)
class Person:
    name: str
    hidden: bool
    faces: int
    training_assets: tuple[str, ...]  # asset ids


@dataclass(frozen=True)
class Renamed:
    faces_moved: int
    tags_rewritten: int
    assets: int
    merged: bool


@dataclass(frozen=True)
class Forgotten:
    faces_removed: int
    tags_removed: int
    training_assets_left: int  # still labelled: processing them again brings the person back


class People:
    def __init__(self, tagger: Tagger) -> None:
        self.tagger = tagger
        self.faces = tagger.faces
        self.library = tagger.library
        self.settings = tagger.settings

    # -- reading ---------------------------------------------------------------------------

    def all(self) -> list[Person]:
        people = []
        for user_id in self.faces.users():
            person = person_of(user_id)
            if person is None:
                continue  # a user someone else put in the collection
            name, hidden = person
            faces = self.faces.user_faces(user_id)
            people.append(Person(name.display, hidden, len(faces),
                                 tuple(sorted({f.asset_id for f in faces}))))
        return sorted(people, key=lambda p: (p.name.casefold(), p.name))

    def get(self, raw: str) -> Person:
        name = PersonName.parse(raw)
        for person in self.all():
            if person.name == name.display:
                return person
        raise UnknownPerson(name.display)

    def assets(self, asset_ids: Sequence[str]) -> dict[str, Asset]:
        return self.library.assets_by_ids(asset_ids)

    def _users(self, name: PersonName) -> list[tuple[str, list[StoredFace]]]:
        """The person's users that hold faces: visible, hidden or (rarely) both."""
        found = []
        for user_id in (name.user_id, name.hidden_user_id):
            faces = self.faces.user_faces(user_id)
            if faces:
                found.append((user_id, faces))
        return found

    def _tagged(self, name: PersonName) -> list[Asset]:
        """Every asset carrying one of the person's tags or their training context label."""
        s = self.settings
        tags = self._tags(name)
        terms = [f'tags="{quoted(t)}"' for t in tags]
        terms.append(f'context.{s.train_context_key}="{quoted(name.display)}"')
        expression = f"resource_type:image AND ({' OR '.join(terms)})"
        # Search tokenises context values: keep exact holders only.
        return [a for a in every_asset(self.library, expression)
                if set(a.tags) & set(tags) or a.context.get(s.train_context_key) == name.display]

    def _tags(self, name: PersonName) -> list[str]:
        s = self.settings
        return [s.person_tag_prefix + name.display, s.suggest_tag_prefix + name.display,
                s.train_tag_prefix + name.display]

    # -- writing ---------------------------------------------------------------------------

    def _move(self, from_user: str, to_user: str, face_ids: Sequence[str]) -> None:
        self.faces.disassociate(from_user, face_ids)
        self.faces.delete_user(from_user)
        self.faces.ensure_user(to_user)
        self.faces.associate(to_user, face_ids, NO_SIMILARITY_CHECK)

    def _each_type(self, assets: Sequence[Asset],
                   write: Callable[[list[str], str], object]) -> None:
        """One batched write per delivery type (Cloudinary addresses assets per type)."""
        by_type: dict[str, list[str]] = {}
        for asset in assets:
            by_type.setdefault(asset.ref.delivery_type, []).append(asset.public_id)
        for delivery_type, ids in by_type.items():
            write(ids, delivery_type)

    def _remove_tags(self, assets: Sequence[Asset], tags: list[str]) -> None:
        self._each_type(assets, lambda ids, t: self.library.remove_tags(ids, tags, t))

    def _replace_tag(self, assets: Sequence[Asset], old: str, new: str,
                     remove_first: bool) -> int:
        holders = [a for a in assets if old in a.tags]

        def add() -> None:
            self._each_type(holders, lambda ids, t: self.library.add_tags(ids, [new], t))

        def remove() -> None:
            self._each_type(holders, lambda ids, t: self.library.remove_tags(ids, [old], t))

        for step in ((remove, add) if remove_first else (add, remove)):
            step()
        return len(holders)

    def rename(self, old_raw: str, new_raw: str) -> Renamed:
        """Rename a person everywhere; renaming to an existing person merges the two."""
        s = self.settings
        old, new = PersonName.parse(old_raw), PersonName.parse(new_raw)
        if old == new:
            raise SameName(old.display)
        old_users = self._users(old)
        assets = self._tagged(old)
        if not old_users and not assets:
            raise UnknownPerson(old.display)
        new_users = self._users(new)
        hidden = (any(u == new.hidden_user_id for u, _ in new_users) if new_users
                  else any(u == old.hidden_user_id for u, _ in old_users))
        target = new.hidden_user_id if hidden else new.user_id
        moved = 0
        for user_id, faces in old_users:
            self._move(user_id, target, [f.face_id for f in faces])
            moved += len(faces)
        # Training assets first say what they train, so the webhook's echo of the label
        # change finds them already trained under the new name and does nothing.
        trained = [a for a in assets if state.read(a, s).trained == old]
        self._each_type(trained, lambda ids, t: self.library.add_context(
            ids, state.renamed_training_context(new), t))
        labelled = [a for a in assets if a.context.get(s.train_context_key) == old.display]
        self._each_type(labelled, lambda ids, t: self.library.add_context(
            ids, {s.train_context_key: new.display}, t))
        old_tags, new_tags = self._tags(old), self._tags(new)
        rewritten = sum(
            # A training label is removed before the new one is added: an asset never names
            # two people to train.
            self._replace_tag(assets, o, n, remove_first=o.startswith(s.train_tag_prefix))
            for o, n in zip(old_tags, new_tags, strict=True))
        return Renamed(moved, rewritten, len(assets), bool(new_users))

    def forget(self, raw: str, untag: bool) -> Forgotten:
        """Delete the person's faces; with `untag`, also every tag and label naming them."""
        s = self.settings
        name = PersonName.parse(raw)
        users = self._users(name)
        assets = self._tagged(name) if untag else []
        if not users and not assets:
            raise UnknownPerson(name.display)
        removed = 0
        training: set[str] = set()
        for user_id, faces in users:
            face_ids = [f.face_id for f in faces]
            # Rekognition refuses to delete a face still associated with a user.
            self.faces.disassociate(user_id, face_ids)
            self.faces.delete_user(user_id)
            removed += len(self.faces.delete_faces(face_ids))
            training.update(f.asset_id for f in faces)
        tags_removed = 0
        if untag:
            for tag in self._tags(name):
                holders = [a for a in assets if tag in a.tags]
                extra = [s.trained_tag] if tag.startswith(s.train_tag_prefix) else []
                self._remove_tags(holders, [tag, *extra])
                tags_removed += len(holders)
            # Labels go after the tags, so no echo finds a label without its tag to retrain.
            trained = [a for a in assets if state.read(a, s).trained == name]
            self._each_type(trained, lambda ids, t: self.library.add_context(
                ids, state.untrained_context(), t))
            labelled = [a for a in assets if a.context.get(s.train_context_key) == name.display]
            self._each_type(labelled, lambda ids, t: self.library.add_context(
                ids, {s.train_context_key: ""}, t))
        return Forgotten(removed, tags_removed, 0 if untag else len(training))

    def hide(self, raw: str, hidden: bool = True) -> bool:
        """Move the person's faces to the hidden (or visible) user; False if already there."""
        name = PersonName.parse(raw)
        source, target = ((name.user_id, name.hidden_user_id) if hidden
                          else (name.hidden_user_id, name.user_id))
        faces = self.faces.user_faces(source)
        if not faces:
            if self.faces.user_faces(target):
                return False
            raise UnknownPerson(name.display)
        self._move(source, target, [f.face_id for f in faces])
        return True

    def reset(self) -> int:
        """Empty the collection (delete and create it again); returns the faces it held."""
        try:
            held = self.faces.describe().face_count
            self.faces.delete_collection()
        except CollectionMissing:
            held = 0
        self.faces.ensure_collection()
        return held
