"""Hostile notification bodies for test_hostile_properties.py (strategies, no tests).

Each `Case` is a notification body (any JSON) with the asset ids it names (those in the places
the parser reads an asset from) and the edits an uploader makes to those assets before it is
delivered (so the hostile content is also the asset's current state, which the flows read).
What the bodies and edits carry is what anyone who can upload controls: public_ids that are
URLs (of the test's listener, or of the delivery host itself), `facetag_*` context claims
(other assets' face ids, stale versions, names facetag did not write), names with backslashes,
control and Cf characters, `;`, `=`, `|`, commas, very long names, a thousand tags, fields of
the wrong JSON type, and asset ids and public_ids that do not belong together.

`Pools` holds the strategies a case is drawn from, built once per module from what the library
really holds: hypothesis validates a strategy on first use, which costs more than the draws.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from chalicelib import state
from emulators.stack import APP_KEY, LIBRARIAN_KEY

OBAMA, BIDEN = "Barack Obama", "Joe Biden"
TRAIN_KEY = "person"  # the default training context key
LABELLED = ("train:", "person:", "suggested:", "facetag:")
CONTROL = "\x00\x01\x07\x08\x1b\x1f\x7f\x85"  # category Cc
INVISIBLE = "\u00ad\u200b\u200c\u200d\u200e\u200f\u202a\u202e\u2066\u2069\ufeff"  # Cf
TAG_PREFIXES = ("", "train:", "person:", "suggested:", "facetag:", "facetag:v-")
STATE_KEYS = (state.FACE_IDS, state.ASSET_VERSION, state.LEGACY_ASSET_VERSION, state.TRAINED,
              state.LABEL, state.REJECTED, state.PEOPLE, state.SUGGESTED, state.ERROR,
              state.FACES, state.UNKNOWN, TRAIN_KEY)
ODD_KEYS = ("a=b", "a|b", "facetag_x\\", "facetag_", "", " ", "k\x00", "person\u200b")
WRONG_TYPES: list[Any] = [None, True, 0, -1, 1.5, 2 ** 64, "", [], {}, [None], {"a": 1},
                          ["x", 3], "x" * 40]
UNKNOWN_FACE = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Seeded:
    """An asset the library really holds, as it was once seeded."""

    public_id: str
    asset_id: str
    version: int
    face_ids: tuple[str, ...]
    tags: tuple[str, ...]
    context: dict[str, str]


@dataclass(frozen=True)
class Edit:
    """An uploader replaces an asset's whole tag list and context (Upload API `explicit`)."""

    public_id: str
    tags: list[str]
    context: dict[str, str]


@dataclass(frozen=True)
class Case:
    body: Any
    named: frozenset[str]  # asset ids in the places the parser reads an asset from
    edits: tuple[Edit, ...] = ()


@dataclass(frozen=True)
class Target:
    """One asset a body names: a seeded one, or an asset id the library does not hold."""

    asset_id: str
    public_id: str
    seeded: Seeded | None = None


class Pools:
    """The strategies the parts of a case are drawn from; `listener` is the URL of a server
    that must never be asked anything, `marker` facetag's processed marker."""

    def __init__(self, assets: Sequence[Seeded], listener: str, delivery_host: str,
                 marker: str) -> None:
        self.assets, self.listener = list(assets), listener
        self.delivery_host, self.marker = delivery_host, marker
        host = listener.removeprefix("http://")
        self.urls = [f"{self.listener}/latest/meta-data/iam/security-credentials/",
                     f"{self.listener}/x.jpg?a=b,c", f"https://{host}/y", f"//{host}/z",
                     f"{self.delivery_host}/demo/image/upload/{self.assets[0].public_id}"]
        fragments = [OBAMA, BIDEN, "Eve", "Eve\\", "\\", ";", "=", "|", ",", ", ", ":", '"',
                     "'", "%00", "../", "/", " ", "\t", "\n", "\r\n", "facetag:", "person:",
                     "train:", self.marker, "facetag:skip", "李小龙", "😀", "x" * 300,
                     *CONTROL, *INVISIBLE, *self.urls]
        self.names = st.lists(st.sampled_from(fragments) | st.text(max_size=4), min_size=1,
                              max_size=4).map("".join)
        fixed = [f"train:{OBAMA}", f"person:{OBAMA}", f"suggested:{OBAMA}", f"person:{BIDEN}",
                 "facetag:trained", "facetag:error", self.marker, "train:Eve\\",
                 "train:Smith, John"]
        tag = st.sampled_from(fixed) | st.tuples(st.sampled_from(TAG_PREFIXES),
                                                 self.names).map("".join)
        self.tags = st.lists(tag, max_size=6)
        face_ids = [f for a in self.assets for f in a.face_ids] or [UNKNOWN_FACE]
        value = st.one_of(
            st.lists(st.sampled_from([*face_ids, UNKNOWN_FACE]), min_size=1,
                     max_size=4).map(",".join),
            st.sampled_from(["1", "0", "-1", "9" * 30, *(str(a.version) for a in self.assets)]),
            self.names, st.lists(self.names, max_size=3).map(json.dumps), st.text(max_size=12))
        self.context = st.dictionaries(st.sampled_from(STATE_KEYS + ODD_KEYS), value,
                                       max_size=5)
        self.actors = [None, {"source": "ui", "id": "u-1"},
                       {"source": "api", "id": LIBRARIAN_KEY}, {"source": "api", "id": APP_KEY},
                       {"source": 5, "id": []}, "api"]
        self.seeded = [Target(a.asset_id, a.public_id, a) for a in self.assets]
        self.fakes = [Target("0" * 32, "events/none"),
                      Target("deadbeef" * 4, self.assets[0].public_id),
                      Target(self.urls[0], self.urls[0]), Target("a\x00\u202e", "x\\")]
        self.public_ids = [a.public_id for a in self.assets] + self.urls
        # What differs from run to run in the content drawn (ports, face ids, versions), and a
        # token for each: a case's shape follows from its content, the same in every run.
        self._run_specific = [(listener.removeprefix("http://"), "<listener>"),
                              (delivery_host.removeprefix("http://"), "<delivery>"),
                              *((f, f"<face {i}>") for i, f in enumerate(face_ids)),
                              *((str(a.version), f"<version {i}>")
                                for i, a in enumerate(self.assets))]

    def stable(self, text: str) -> str:
        """`text` with what differs from run to run replaced by tokens."""
        for value, token in self._run_specific:
            text = text.replace(value, token)
        return text


# -- pieces ---------------------------------------------------------------------------------

class Choices:
    """A case's draws: its hostile content from hypothesis (which favours extremes: empty,
    huge, odd characters), drawn first; its shape (which assets, which fields, what is bent)
    from a `random.Random` seeded with that content, with the odds written here. Hypothesis
    favours the first and last of every choice and mutates its earlier examples, so shape
    drawn from it would repeat, and make most bodies alike and ignored."""

    def __init__(self, draw: st.DrawFn, pools: Pools, mismatched: bool = False) -> None:
        self.pools, self.mismatched = pools, mismatched
        self.tag_lists = draw(st.lists(pools.tags, min_size=4, max_size=4))
        self.contexts = draw(st.lists(pools.context, min_size=4, max_size=4))
        self.names = draw(st.lists(pools.names, min_size=3, max_size=3))
        self.rng = random.Random(pools.stable(repr((self.tag_lists, self.contexts, self.names))))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def target(self) -> Target:
        seeded = self.mismatched or self.chance(0.8)
        return self.rng.choice(self.pools.seeded if seeded else self.pools.fakes)

    def targets(self, most: int) -> list[Target]:
        chosen = {t.asset_id: t for t in (self.target() for _ in range(self.rng.randint(1, most)))}
        return list(chosen.values())

    def tags(self) -> list[str]:
        if self.chance(0.08):  # Cloudinary's limit, and either side of it
            prefix = self.rng.choice(["k", "person:Bulk ", "train:Bulk", "facetag:"])
            return [f"{prefix}{i}" for i in range(self.rng.choice([999, 1000, 1001]))]
        return self.rng.choice(self.tag_lists)

    def context(self) -> dict[str, str]:
        return self.rng.choice(self.contexts)

    def name(self) -> str:
        return self.rng.choice(self.names)

    def kept_tags(self, seeded: Seeded, redo: float) -> list[str]:
        """The asset's tags, without facetag's marker (so there is work to do) at odds `redo`."""
        drop = self.chance(redo)
        return [t for t in seeded.tags if not (drop and t == self.pools.marker)]

    def public_id(self, target: Target) -> str:
        """Mostly the asset's own; else another asset's, a URL, or a hostile name. Mismatched:
        always another asset's (a notification late after a rename says where it was)."""
        if self.mismatched:
            return self.rng.choice([t.public_id for t in self.pools.seeded if t != target])
        if self.chance(0.6):
            return target.public_id
        if self.chance(0.7):
            return self.rng.choice(self.pools.public_ids)
        return self.name()

    def ref(self, target: Target) -> dict[str, Any]:
        return {"asset_id": target.asset_id, "public_id": self.public_id(target),
                "resource_type": "image" if self.chance(0.9) else self.rng.choice(
                    ["video", "raw"]),
                "type": "upload" if self.chance(0.8) else self.rng.choice(
                    ["private", "authenticated", ""])}

    def bent(self, item: dict[str, Any]) -> dict[str, Any]:
        """Now and then, one of the item's fields given a value of the wrong type."""
        if item and self.chance(0.12):
            item[self.rng.choice(sorted(item))] = self.rng.choice(WRONG_TYPES)
        return item

    def envelope(self, kind: str) -> dict[str, Any]:
        body: dict[str, Any] = {"notification_type": kind}
        actor = self.rng.choice(self.pools.actors)
        if actor is not None:
            body["notification_context"] = {"triggered_by": actor}
        if self.chance(0.5):
            body["source"] = self.rng.choice(["ui", "api", 3])
        return body


def _tags_after(seeded: Seeded, added: list[str], removed: list[str]) -> list[str]:
    kept = [t for t in seeded.tags if t not in removed]
    return kept + [t for t in added if t not in kept]


# -- the four kinds -------------------------------------------------------------------------

@st.composite
def uploads(draw: st.DrawFn, pools: Pools) -> Case:
    """An upload (or restore) notification; the asset, if seeded, may first be given the
    hostile tags and context (and lose facetag's marker, so there is work to do)."""
    c = Choices(draw, pools)
    target = c.target()
    tags, context = c.tags(), c.context()
    edits: tuple[Edit, ...] = ()
    seeded = target.seeded
    if seeded is not None and c.chance(0.7):
        kept = c.kept_tags(seeded, 0.8)
        edits = (Edit(seeded.public_id, kept + [t for t in tags if t not in kept],
                      {**seeded.context, **context}),)
        if c.chance(0.5):  # the body describes the edited asset
            tags, context = edits[0].tags, edits[0].context
    version = seeded.version if seeded and c.chance(0.6) else c.rng.choice(
        [1, -1, 2 ** 63, "1", 1.5, *(a.version for a in pools.assets)])
    body = {**c.envelope(c.rng.choice(["upload", "restore_asset_version"])),
            **c.ref(target), "version": version, "format": "jpg", "width": 400,
            "height": 300, "tags": tags, "context": {"custom": context}}
    return Case(c.bent(body), frozenset({target.asset_id}), edits)


def _tag_item(c: Choices, target: Target) -> tuple[dict[str, Any], Edit | None]:
    added, removed = c.tags(), c.tags()
    seeded = target.seeded
    if seeded is not None and c.chance(0.5):  # names and labels the asset has, removed
        own = [t for t in seeded.tags if t.startswith(LABELLED)]
        removed = [*removed, *c.rng.sample(own, c.rng.randint(0, len(own)))]
    edit = None
    if seeded is not None and c.chance(0.7):  # the change really happened
        edit = Edit(seeded.public_id, _tags_after(seeded, added, removed),
                    dict(seeded.context))
    return {**c.ref(target), "added": added, "removed": removed}, edit


def _context_item(c: Choices, target: Target) -> tuple[dict[str, Any], Edit | None]:
    added, updated = c.context(), c.context()
    removed = c.rng.sample(STATE_KEYS + ODD_KEYS, c.rng.randint(0, 3))
    if c.chance(0.6):  # the training key, the one context key facetag acts on
        if c.chance(0.25):
            removed.append(TRAIN_KEY)
        else:
            updated = {**updated, TRAIN_KEY: c.rng.choice([OBAMA, BIDEN, "", " ", c.name()])}
    seeded = target.seeded
    edit = None
    if seeded is not None and c.chance(0.7):
        context = {k: v for k, v in {**seeded.context, **added, **updated}.items()
                   if k not in removed}
        edit = Edit(seeded.public_id, c.kept_tags(seeded, 0.4), context)
    shape = c.rng.choice(["items", "strings", "object"])
    item: dict[str, Any] = c.ref(target)
    for name, pairs in (("added", added), ("updated", updated)):
        if shape == "items":
            item[name] = [{"name": k, "value": v} for k, v in pairs.items()]
        elif shape == "strings":
            item[name] = [f"{k}={v}" for k, v in pairs.items()]
        else:
            item[name] = pairs
    item["removed"] = [{"name": k} for k in removed] if shape == "items" else removed
    return item, edit


Item = Callable[[Choices, Target], tuple[dict[str, Any], Edit | None]]


def _changes(kind: str, item: Item, mismatched: bool = False
             ) -> Callable[[Pools], st.SearchStrategy[Case]]:
    @st.composite
    def changes(draw: st.DrawFn, pools: Pools) -> Case:
        """A bulk change naming one to three assets; resources as a list or keyed by
        public_id."""
        c = Choices(draw, pools, mismatched)
        targets = c.targets(3)
        drawn = [item(c, t) for t in targets]
        resources = [c.bent(r) for r, _ in drawn]
        body = c.envelope(kind)
        if c.chance(0.5):
            body["resources"] = resources
        else:
            body["resources"] = {str(r.pop("public_id", "")): r for r in resources}
        edits = tuple(e for _, e in drawn if e is not None)
        return Case(c.bent(body), frozenset(t.asset_id for t in targets), edits)

    return changes


tag_changes = _changes("resource_tags_changed", _tag_item)
context_changes = _changes("resource_context_changed", _context_item)
_mismatched = (_changes("resource_tags_changed", _tag_item, mismatched=True),
               _changes("resource_context_changed", _context_item, mismatched=True))


def mismatched(pools: Pools) -> st.SearchStrategy[Case]:
    """Changes that pair each asset's id with another asset's public_id."""
    return st.one_of(*(changes(pools) for changes in _mismatched))


@st.composite
def deletions(draw: st.DrawFn, pools: Pools) -> Case:
    """A deletion claimed for assets that still exist (or never did)."""
    c = Choices(draw, pools)
    targets = c.targets(4)
    body = c.envelope(c.rng.choice(["delete", "delete_by_token"]))
    refs = [c.bent(c.ref(t)) for t in targets]
    if len(refs) == 1 and c.chance(0.5):
        body.update(refs[0])  # one asset at the top level
    else:
        body["resources"] = refs
    return Case(c.bent(body), frozenset(t.asset_id for t in targets))
