"""Test controls behind `/_admin/` (no auth): counters, resets, faults, the Admin quota and
notification settings. Not part of Cloudinary."""

from __future__ import annotations

from dataclasses import asdict

from ..common.faults import FaultPlan
from ..common.http import Answer, json_answer
from .exceptions import BadRequest, NotFound
from .service import FAULTED_APIS, Service, no_faults
from .wire import parse_json


class Controls:
    def __init__(self, service: Service) -> None:
        self.service = service

    def handle(self, method: str, route: str, body: bytes) -> Answer:
        service = self.service
        notifier = service.notifications.notifier
        if method == "GET" and route == "stats":
            return json_answer(200, {**service.stats.snapshot(),
                                     "notifications": notifier.counters.as_dict(),
                                     "assets": service.library.count()})
        if method == "POST" and route == "stats/reset":
            service.stats.reset()
            notifier.reset_counters()
            return json_answer(200, {"status": "ok"})
        if method == "POST" and route == "reset":
            service.library.clear()
            service.triggers.clear()
            service.chunks.clear()
            service.stats.reset()
            service.rate_limiter.reset(service.config.admin_rate_limit)
            service.faults.follow(no_faults())
            service.fault_message = None
            notifier.reset()
            return json_answer(200, {"status": "ok"})
        if route == "notifications" and method in ("GET", "POST"):
            if method == "POST":
                try:
                    notifier.configure(**parse_json(body))
                except (ValueError, TypeError) as exc:
                    raise BadRequest(str(exc)) from None
            return json_answer(200, vars(notifier.settings))
        if method == "GET" and route == "notifications/pending":
            return json_answer(200, {"pending": notifier.pending()})
        if method == "GET" and route == "notifications/sent":
            return json_answer(200, {"sent": [asdict(s) for s in notifier.sent()]})
        if method == "POST" and route == "faults":
            return self.faults(body)
        if method == "POST" and route == "rate_limit":
            limit = parse_json(body).get("limit")
            if not isinstance(limit, int) or limit < 0:
                raise BadRequest("limit must be a non-negative integer")
            service.rate_limiter.reset(limit)
            return json_answer(200, {"limit": limit})
        raise NotFound(f"No test control {method} /_admin/{route}")

    def faults(self, body: bytes) -> Answer:
        """`{"rate", "statuses", "seed", "apis", "message"}`: a share of calls to those APIs
        (admin, upload, delivery) answers one of those statuses before doing anything, with
        `message` as the error's words if given."""
        data = parse_json(body)
        message = data.get("message")
        try:
            plan = FaultPlan.of(float(data.get("rate", 0)), list(data.get("statuses", [500])),
                                list(data.get("apis", FAULTED_APIS)), data.get("seed"))
            if message is not None and not isinstance(message, str):
                raise TypeError("message must be a string")
        except (ValueError, TypeError) as exc:
            raise BadRequest(str(exc)) from None
        self.service.faults.follow(plan)
        self.service.fault_message = message
        return json_answer(200, {"status": "ok"})
