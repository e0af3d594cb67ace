"""facetag's Chalice app: routes and wiring only; the logic lives in chalicelib/."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice import Chalice, Response
from chalice.app import CloudWatchEvent

from chalicelib import credentials, logs, settings, webhook
from chalicelib.notifications import Event
from chalicelib.settings import ConfigError, Settings

if TYPE_CHECKING:  # the module itself is imported on first use (see get_dispatcher)
    from chalicelib.tagging import Outcome

# Chalice's own log setup would give the "facetag" logger a plain-text handler at level ERROR.
app = Chalice(app_name="facetag", configure_logs=False)
logs.configure(logging.INFO)
log = logging.getLogger("facetag.app")

_settings: Settings | None = None
_dispatcher: Callable[[Event], Outcome] | None = None


def get_settings() -> Settings:
    """Settings, read once per container; a ConfigError is raised again on every call."""
    global _settings
    if _settings is None:
        _settings = settings.from_env()
    return _settings


def get_secret() -> str:
    return credentials.api_secret(get_settings())


def get_dispatcher() -> Callable[[Event], Outcome]:
    global _dispatcher
    if _dispatcher is None:
        # Imported on first use: it builds the AWS and Cloudinary clients.
        from chalicelib.tagging import build_tagger
        get_secret()  # puts a secret kept in SSM into the SDK's configuration first
        _dispatcher = build_tagger(get_settings()).handle
    return _dispatcher


def misconfigured(err: ConfigError) -> Response:
    log.error("facetag is misconfigured: %s", err, extra={"outcome": "misconfigured"})
    return Response(body={"error": f"facetag is misconfigured: {err}"}, status_code=500)


@app.route("/webhooks/cloudinary", methods=["POST"], content_types=["application/json"])
def cloudinary_webhook() -> Response:
    try:
        current = get_settings()
    except ConfigError as err:
        return misconfigured(err)
    request = app.current_request
    answer = webhook.handle(request.raw_body, request.headers, current, secret=get_secret,
                            dispatch=lambda event: get_dispatcher()(event), now=time.time)
    return Response(body=answer.body, status_code=answer.status)


# Read when `chalice deploy`/`package` imports this module: it becomes the EventBridge rule.
RECONCILE_SCHEDULE = os.environ.get("FACETAG_RECONCILE_SCHEDULE", "rate(1 hour)")


@app.schedule(RECONCILE_SCHEDULE)
def reconcile(event: CloudWatchEvent) -> dict[str, Any]:
    from chalicelib.reconcile import scheduled  # builds clients: only in this Lambda

    get_secret()  # puts a secret kept in SSM into the SDK's configuration first
    return scheduled(get_settings(), event.context.get_remaining_time_in_millis)
