"""Training photos whose face is no longer in the collection: trained again by a re-run.

A training photo's face leaves the collection with the collection (deleted outside facetag, or
`facetag reset`) or with its person (`facetag forget` without `--untag`). The photo keeps its
label and still says it trains the person (`facetag:trained`, `facetag_trained`), so `decide`
sees nothing to do. An operator's re-run (`facetag rerun`) checks those claims against the
collection, across the whole library whatever the window (labels are often on old photos): one
search for the trained tag (500 assets a page) and one ListFaces per 4,096 claimed face ids.
Photos whose face is no longer their person's go to the run's workers first, as labels not yet
trained, so that the re-run's recognition which follows finds the people again. A scheduled run
does not check: a person forgotten with their labels left stays forgotten until an operator
re-runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

from .. import state
from ..assets import Asset
from ..decide import left_alone, training_label
from ..library import quoted
from ..names import PersonName
from ..outcome import AssetProblem
from ..settings import Settings
from ..stores import FaceStore
from .finder import Finder


def lost_training(faces: FaceStore, finder: Finder) -> Iterator[Asset]:
    """Training photos whose face the collection no longer gives their person, each once."""
    s = finder.settings
    for assets in finder.pages(f'{finder.base_expression()} AND tags="{quoted(s.trained_tag)}"'):
        claims = [(a, name) for a in assets if (name := _claimed(a, s)) is not None]
        yield from finder.found(_untrained(a) for a in _refuted(faces, claims, s))


def _claimed(asset: Asset, settings: Settings) -> PersonName | None:
    """The person a processed asset says it trains, when its label still names them (a changed
    label is trained again anyway)."""
    if left_alone(asset, settings) is not None:
        return None
    current = state.read(asset, settings)
    try:
        label = training_label(asset, settings)
    except AssetProblem:
        return None
    if (label is None or not current.processed(asset)
            or current.trained != label or current.label != label.display):
        return None
    return label


def _refuted(faces: FaceStore, claims: Sequence[tuple[Asset, PersonName]],
             settings: Settings) -> list[Asset]:
    """The assets none of whose own faces belongs to their person in the collection."""
    face_ids = [f for a, _ in claims for f in state.read(a, settings).face_ids]
    held = {(f.asset_id, f.user_id) for f in (faces.faces(face_ids) if face_ids else ())
            if f.user_id}
    return [a for a, name in claims
            if (a.asset_id, name.user_id) not in held
            and (a.asset_id, name.hidden_user_id) not in held]


def _untrained(asset: Asset) -> Asset:
    """The asset as if its label had never been trained: `decide` then trains it, and training
    writes the claim again (nothing is written before that)."""
    return replace(asset, context={k: v for k, v in asset.context.items() if k != state.LABEL})
