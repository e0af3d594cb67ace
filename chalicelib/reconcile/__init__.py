"""Reconciliation: find what lost notifications left undone, and do it, inside a time budget.

One run:
1. searches for image assets uploaded in a window that lack the current processed marker, and
   for training-labelled assets that are not trained yet (`finder`), and gives each to
   `Tagger.process` (the webhook's own code), a few at a time (`run`);
2. removes from the collection the faces of assets that no longer exist (`orphans`).

A run is cheap to stop: the marker is written per asset, so finished assets drop out of the
next run's search and the next run continues where this one stopped. A run stops taking work
when the time budget (the Lambda context's remaining time, minus a safety margin), the Admin
API call budget or Cloudinary's hourly quota runs out (`budget`), and says so in its summary
(`summary`).
"""

from .finder import Progress, Window
from .run import Options, reconcile
from .summary import Planned, Summary

__all__ = ["Options", "Planned", "Progress", "Summary", "Window", "reconcile"]
