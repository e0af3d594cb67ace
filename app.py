"""facetag's Chalice app: routes and wiring only; the logic lives in chalicelib/."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from chalice.app import Chalice, CloudWatchEvent, Request, Response

from chalicelib import credentials, logs, settings, webhook
from chalicelib.notifications import Event
from chalicelib.settings import ConfigError, Settings

if TYPE_CHECKING:  # the module itself is imported on first use (see get_dispatcher)
    from chalicelib.tagging import Outcome, Tagger

# Chalice's own log setup would give the "facetag" logger a plain-text handler at level ERROR.
app = Chalice(app_name="facetag", configure_logs=False)
logs.configure(logging.INFO)
log = logging.getLogger("facetag.app")

_settings: Settings | None = None
_dispatcher: Callable[[Event], Outcome] | None = None
_tagger: Tagger | None = None


def get_settings() -> Settings:
    """Settings, read once per container; a ConfigError is raised again on every call."""
    global _settings
    if _settings is None:
        _settings = settings.from_env()
    return _settings


def get_secret() -> str:
    return credentials.api_secret(get_settings())


def get_dispatcher() -> Callable[[Event], Outcome]:
    global _dispatcher, _tagger
    if _dispatcher is None:
        # Imported on first use: it builds the AWS and Cloudinary clients.
        from chalicelib.tagging import build_tagger
        get_secret()  # puts a secret kept in SSM into the SDK's configuration first
        _tagger = build_tagger(get_settings())
        _dispatcher = _tagger.handle
    return _dispatcher


def rekognition_calls() -> int:
    """This thread's Rekognition calls since it last asked (none before the first dispatch)."""
    return _tagger.faces.calls.take() if _tagger else 0


def misconfigured(err: ConfigError) -> Response:
    log.error("facetag is misconfigured: %s", err, extra={"outcome": "misconfigured"})
    return Response(body={"error": f"facetag is misconfigured: {err}"}, status_code=500)


@app.route("/webhooks/cloudinary", methods=["POST"], content_types=["application/json"])
def cloudinary_webhook() -> Response:
    try:
        current = get_settings()
    except ConfigError as err:
        return misconfigured(err)
    request = cast(Request, app.current_request)  # set by Chalice for every route call
    raw = request.raw_body
    answer = webhook.handle(raw.encode() if isinstance(raw, str) else raw, request.headers,
                            current, secret=get_secret,
                            dispatch=lambda event: get_dispatcher()(event), now=time.time,
                            calls=rekognition_calls)
    return Response(body=answer.body, status_code=answer.status)


# Read when `chalice deploy`/`package` imports this module: it becomes the EventBridge rule.
RECONCILE_SCHEDULE = os.environ.get("FACETAG_RECONCILE_SCHEDULE", "rate(1 hour)")


@app.schedule(RECONCILE_SCHEDULE)
def reconcile(event: CloudWatchEvent) -> dict[str, Any]:
    from chalicelib.reconcile import scheduled  # builds clients: only in this Lambda

    get_secret()  # puts a secret kept in SSM into the SDK's configuration first
    context: Any = event.context  # the Lambda context object, whatever Chalice's hint says
    return scheduled(get_settings(), context.get_remaining_time_in_millis)
