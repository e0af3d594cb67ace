"""The Cloudinary product environment as the operator sees it: is it reachable with these
credentials, where are its assets delivered, which notification triggers does it have."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cloudinary
import cloudinary.api
from cloudinary.utils import cloudinary_url


@dataclass(frozen=True)
class Registration:
    """A notification trigger: Cloudinary posts `event_type` notifications to `uri`."""

    id: str
    event_type: str
    uri: str


class Account(Protocol):
    @property
    def cloud_name(self) -> str: ...

    def ping(self) -> None: ...

    def delivery_url(self, public_id: str, delivery_type: str, version: int | None) -> str: ...

    def registrations(self) -> list[Registration]: ...

    def register(self, uri: str, event_type: str) -> None: ...


class CloudinaryAccount:
    """The Account through the official SDK, configured beforehand (see wiring.py)."""

    @property
    def cloud_name(self) -> str:
        return str(cloudinary.config().cloud_name)

    def ping(self) -> None:
        cloudinary.api.ping()

    def delivery_url(self, public_id: str, delivery_type: str, version: int | None) -> str:
        return str(cloudinary_url(public_id, type=delivery_type, version=version)[0])

    def registrations(self) -> list[Registration]:
        return [Registration(t["id"], t["event_type"], t["uri"])
                for t in cloudinary.api.triggers()["triggers"]]

    def register(self, uri: str, event_type: str) -> None:
        cloudinary.api.create_trigger(uri, event_type)
