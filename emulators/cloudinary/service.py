"""The configuration of one local Cloudinary server and the parts all its routes share."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..common.faults import FaultInjector, FaultPlan
from ..common.http import Answer, json_answer
from ..common.stats import CallStats
from .chunks import ChunkedUploads
from .notifications import Notifications
from .notifier import NotificationSettings, Notifier
from .rate_limit import RateLimiter
from .shapes import Shapes
from .state_dir import StateDir
from .store import Library
from .triggers import Triggers

FAULT_MESSAGES = {500: "General Error", 502: "Bad Gateway", 503: "Service Unavailable",
                  429: "Too Many Requests", 504: "Gateway Timeout"}
FAULTED_APIS = ("admin", "upload")  # by default; delivery can be added
TOTALS = ("admin_calls", "upload_calls", "delivery_requests", "delivery_bytes")


@dataclass
class ServerConfig:
    port: int
    host: str = "127.0.0.1"
    cloud_name: str = "demo"
    api_key: str = "local-key"
    api_secret: str = "local-secret"
    extra_credentials: dict[str, str] = field(default_factory=dict)
    notification_url: str | None = None
    state_dir: Path | None = None
    signature_algorithm: str = "sha1"
    admin_rate_limit: int = 500
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    delay_seconds: float = 0.0
    seed: int | None = None
    verbose: bool = False

    @property
    def credentials(self) -> dict[str, str]:
        return {**self.extra_credentials, self.api_key: self.api_secret}


def error_answer(status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
    return json_answer(status, {"error": {"message": message}}, headers)


def cld_error(message: str) -> dict[str, str]:
    """The `X-Cld-Error` header of a delivery error (ASCII, one line: it may quote a
    public_id)."""
    text = "".join(c if c.isprintable() else " " for c in message)
    return {"X-Cld-Error": text.encode("ascii", "backslashreplace").decode("ascii")}


def no_faults() -> FaultPlan[int]:
    return FaultPlan.of(0.0, [500], FAULTED_APIS)


class Service:
    """The library, triggers, chunked uploads in progress, notifications, Admin quota, faults
    and call counters of one server."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        state = StateDir(config.state_dir) if config.state_dir else None
        self.library = Library(state)
        self.triggers = Triggers(state)
        self.chunks = ChunkedUploads()
        self.shapes = Shapes(f"http://{config.host}:{config.port}", config.cloud_name)
        self.rate_limiter = RateLimiter(config.admin_rate_limit)
        self.faults = FaultInjector(no_faults())
        self.fault_message: str | None = None  # instead of the status's usual words
        self.stats = CallStats(TOTALS)
        self.notifications = Notifications(self.triggers, Notifier(
            api_key=config.api_key, api_secret=config.api_secret,
            settings=NotificationSettings(
                drop_rate=config.drop_rate, duplicate_rate=config.duplicate_rate,
                delay_seconds=config.delay_seconds, seed=config.seed,
                url=config.notification_url, signature_algorithm=config.signature_algorithm)))

    def fault(self, api: str, headers: dict[str, str] | None = None) -> Answer | None:
        """The injected fault this call of `api` answers with, if any; delivery faults carry
        their message in `X-Cld-Error` too, as Cloudinary's delivery errors do."""
        status = self.faults.pick(api)
        if status is None:
            return None
        self.stats.record_fault(api)
        if status == 420 and self.fault_message is None:
            message = self.rate_limiter.exceeded_message()
        else:
            message = self.fault_message or FAULT_MESSAGES.get(status, "Injected fault")
        if api == "delivery":
            headers = {**(headers or {}), **cld_error(message)}
        return error_answer(status, message, headers)

    def close(self) -> None:
        self.notifications.notifier.stop()
