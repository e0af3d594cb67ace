"""facetag's settings: read once from the environment, validated, then passed around frozen."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields

COLLECTION_ID_PATTERN = re.compile(r"^[a-zA-Z0-9_.\-]{1,255}$")
QUEUE_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_\-]{1,75}(\.fifo)?$")


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names the environment variable."""


@dataclass(frozen=True)
class Settings:
    collection_id: str = "facetag"
    match_threshold: float = 90.0
    suggest_threshold: float = 80.0
    train_tag_prefix: str = "train:"
    train_context_key: str = "person"
    person_tag_prefix: str = "person:"
    suggest_tag_prefix: str = "suggested:"
    trained_tag: str = "facetag:trained"
    error_tag: str = "facetag:error"
    skip_tag: str = "facetag:skip"
    marker_prefix: str = "facetag:v-"
    min_face_px: int = 40
    derivative_size: int = 1920
    include_folders: tuple[str, ...] = ()
    exclude_folders: tuple[str, ...] = ()
    signature_algorithm: str = "sha1"
    signature_window_s: int = 7200
    signature_max_future_s: int = 300
    max_body_bytes: int = 2 * 1024 * 1024
    cloudinary_secret_param: str | None = None
    secret_ttl_s: int = 300
    concurrency: int = 4
    reconcile_lookback_hours: int = 48
    reconcile_admin_calls: int = 200
    # Reconciliation takes no new asset once less Lambda time than this remains.
    reconcile_margin_s: float = 30.0
    # The account's Rekognition quota, calls a second per operation: sizes and paces the workers
    # (sizing.py).
    rekognition_tps: float = 5.0
    # Queue names (their URLs are looked up once per container); docs/deploy in the README.
    live_queue: str = "facetag-live.fifo"
    backfill_queue: str = "facetag-backfill.fifo"
    scan_queue: str = "facetag-scan"
    # SSM parameter holding a running backfill's cursor and counts.
    backfill_param: str = "/facetag/backfill"
    # Seconds before a failed message is handed out again, doubled at each receive up to the
    # queue's visibility timeout.
    retry_delay_s: int = 30
    # Unnamed people (clusters.py): faces that match nobody named but match each other.
    unnamed_tag_prefix: str = "unnamed:"
    unnamed_tags: bool = True  # write `unnamed:<id>` tags on the photos of unnamed people
    # Faces (on at least two photos) that make an unnamed person; 0 turns clustering off.
    cluster_min_faces: int = 3

    @property
    def fingerprint(self) -> str:
        """Short hash of every setting that changes a recognition result.

        Carried in the processed marker, so a settings change makes earlier results stale and
        reconciliation or `facetag rerun` finds them.
        """
        relevant = (
            self.collection_id, self.match_threshold, self.suggest_threshold,
            self.person_tag_prefix, self.suggest_tag_prefix, self.min_face_px,
            self.derivative_size,
        )
        return hashlib.sha256(repr(relevant).encode()).hexdigest()[:8]

    @property
    def marker_tag(self) -> str:
        return f"{self.marker_prefix}{self.fingerprint}"

    def folder_allowed(self, folder: str) -> bool:
        def within(parent: str) -> bool:
            return folder == parent or folder.startswith(parent + "/")

        if any(within(f) for f in self.exclude_folders):
            return False
        return not self.include_folders or any(within(f) for f in self.include_folders)


# Environment variable for each field; documented in the README's settings table.
ENV_NAMES: dict[str, str] = {f.name: "FACETAG_" + f.name.upper() for f in fields(Settings)}


def _folders(value: str) -> tuple[str, ...]:
    return tuple(p.strip().strip("/") for p in value.split(",") if p.strip().strip("/"))


def _boolean(value: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)


def from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from `FACETAG_*` variables; raise ConfigError naming the bad variable."""
    env = os.environ if environ is None else environ
    defaults = Settings()
    values: dict[str, object] = {}
    for f in fields(Settings):
        name = ENV_NAMES[f.name]
        raw = env.get(name)
        if raw is None or raw.strip() == "":
            continue
        raw = raw.strip()
        default = getattr(defaults, f.name)
        try:
            if isinstance(default, bool):
                values[f.name] = _boolean(raw)
            elif isinstance(default, int):
                values[f.name] = int(raw)
            elif isinstance(default, float):
                values[f.name] = float(raw)
            elif isinstance(default, tuple):
                values[f.name] = _folders(raw)
            else:
                values[f.name] = raw
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a valid {type(default).__name__}") from None
    settings = Settings(**values)  # type: ignore[arg-type]
    _validate(settings)
    return settings


def _validate(s: Settings) -> None:
    def fail(field: str, why: str) -> None:
        raise ConfigError(f"{ENV_NAMES[field]}: {why}")

    if not COLLECTION_ID_PATTERN.match(s.collection_id):
        fail("collection_id", "use 1-255 characters from a-z, A-Z, 0-9, '_', '.', '-'")
    for name in ("match_threshold", "suggest_threshold"):
        if not 0 <= getattr(s, name) <= 100:
            fail(name, "must be between 0 and 100")
    if s.suggest_threshold > s.match_threshold:
        fail("suggest_threshold", "must not be above FACETAG_MATCH_THRESHOLD")
    for name in ("train_tag_prefix", "person_tag_prefix", "suggest_tag_prefix", "trained_tag",
                 "error_tag", "skip_tag", "marker_prefix", "train_context_key",
                 "unnamed_tag_prefix"):
        value = getattr(s, name)
        if not value or "," in value:
            fail(name, "must be non-empty and contain no comma")
    prefixes = [s.train_tag_prefix, s.person_tag_prefix, s.suggest_tag_prefix, s.marker_prefix,
                s.unnamed_tag_prefix]
    for a in prefixes:
        for b in prefixes:
            if a is not b and a.startswith(b):
                fail("person_tag_prefix", f"tag prefixes {a!r} and {b!r} overlap")
    if s.signature_algorithm not in ("sha1", "sha256"):
        fail("signature_algorithm", "must be sha1 or sha256")
    for name, low in (("min_face_px", 1), ("derivative_size", 80), ("signature_window_s", 1),
                      ("max_body_bytes", 1024), ("secret_ttl_s", 1), ("concurrency", 1),
                      ("reconcile_lookback_hours", 1), ("reconcile_admin_calls", 1)):
        if getattr(s, name) < low:
            fail(name, f"must be at least {low}")
    if not s.rekognition_tps > 0:
        fail("rekognition_tps", "must be above 0")
    for name, fifo in (("live_queue", True), ("backfill_queue", True), ("scan_queue", False)):
        value = getattr(s, name)
        if not QUEUE_NAME_PATTERN.match(value) or value.endswith(".fifo") != fifo:
            kind = "a FIFO queue name (ending .fifo)" if fifo else "a standard queue name"
            fail(name, f"must be {kind}: up to 80 characters from a-z, A-Z, 0-9, '_', '-'")
    if not s.backfill_param.startswith("/"):
        fail("backfill_param", "must be an SSM parameter path starting with /")
    if s.cluster_min_faces == 1 or s.cluster_min_faces < 0:
        fail("cluster_min_faces", "must be 0 (no clustering) or at least 2")
    if s.retry_delay_s < 0:
        fail("retry_delay_s", "must not be negative")
    if s.reconcile_margin_s < 0:
        fail("reconcile_margin_s", "must not be negative")
    if s.signature_max_future_s < 0:
        fail("signature_max_future_s", "must not be negative")
    if s.derivative_size > 4096:
        fail("derivative_size", "must be at most 4096 (Rekognition takes at most 5 MB)")
