"""What an asset needs from facetag: one decision for the webhook, reconciliation and dry runs.

The decision reads only the asset (its tags, context and facetag's state on it) and the
settings; it makes no call. Handling the asset then does exactly what the decision says, so a
dry run's plan and a real run's choice cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from . import state
from .assets import Asset
from .names import InvalidName, PersonName
from .outcome import AssetProblem, Outcome, OutcomeKind
from .settings import Settings


class Need(StrEnum):
    TRAIN = "train"
    RECOGNISE = "recognise"
    REFUSE = "refuse"  # the asset's labels cannot be used: write facetag:error
    NOTHING = "nothing"  # done for this version and these settings
    SKIP = "skip"  # opted out: skip tag or excluded folder
    IGNORE = "ignore"  # not an image


_LEFT_ALONE = {Need.SKIP: OutcomeKind.SKIPPED, Need.IGNORE: OutcomeKind.IGNORED,
               Need.NOTHING: OutcomeKind.UNCHANGED}


@dataclass(frozen=True)
class Decision:
    need: Need
    reason: str = ""
    label: PersonName | None = None  # for TRAIN

    @property
    def is_work(self) -> bool:
        return self.need in (Need.TRAIN, Need.RECOGNISE, Need.REFUSE)

    def outcome(self) -> Outcome:
        """What a decision that is no work is reported as."""
        return Outcome(_LEFT_ALONE[self.need], self.reason)

    def describe(self, rerun: bool = False) -> str:
        """A dry run's line for this asset."""
        if self.need is Need.TRAIN and self.label is not None:
            return f"train {self.label.display}"
        if self.need is Need.RECOGNISE:
            return "re-run recognition" if rerun else "recognise"
        if self.need is Need.REFUSE:
            return f"mark as error: {self.reason}"
        return f"{self.need}: {self.reason}"


def training_label(asset: Asset, settings: Settings) -> PersonName | None:
    """The person an asset trains, from `train:<Name>` tags or the context key; AssetProblem
    when the labels cannot be used."""
    prefix = settings.train_tag_prefix
    raw = [t[len(prefix):] for t in asset.tags if t.startswith(prefix)]
    ctx = asset.context.get(settings.train_context_key, "")
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


def left_alone(asset: Asset, settings: Settings) -> Decision | None:
    """Why facetag must not touch this asset at all, if it must not."""
    if not asset.is_image:
        return Decision(Need.IGNORE, "not an image")
    if settings.skip_tag in asset.tags:
        return Decision(Need.SKIP, "tagged " + settings.skip_tag)
    if not settings.folder_allowed(asset.folder):
        return Decision(Need.SKIP, "folder excluded")
    return None


def decide(asset: Asset, settings: Settings, rerun: bool = False) -> Decision:
    """`rerun` re-runs recognition even where this version was processed (operator re-run);
    training is never redone for the same label."""
    alone = left_alone(asset, settings)
    if alone is not None:
        return alone
    current = state.read(asset, settings)
    done = current.processed(asset)
    try:
        label = training_label(asset, settings)
    except AssetProblem as problem:
        if done and current.error == str(problem):
            return Decision(Need.NOTHING, "already marked as an error")
        return Decision(Need.REFUSE, str(problem))
    if label is not None:
        if done and current.label == label.display:
            return Decision(Need.NOTHING, "already marked as an error" if current.error
                            else f"already trains {label.display}")
        return Decision(Need.TRAIN, label=label)
    if done and not rerun:
        return Decision(Need.NOTHING, "already processed")
    return Decision(Need.RECOGNISE)
