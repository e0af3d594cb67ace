"""HTTP: routes each request to the Upload API, the Admin API, the delivery host or the
`/_admin/` test controls, and answers Cloudinary's errors as `{"error": {"message": ...}}`."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from ..common.http import Answer, Request, StandInHandler, StandInServer
from .admin_api import AdminApi
from .assets import RESOURCE_TYPES
from .cdn import Cdn
from .controls import Controls
from .exceptions import AuthorizationRequired, CloudinaryError, NotFound
from .service import ServerConfig, Service, cld_error, error_answer
from .upload_api import ACTIONS, UploadApi


class CloudinaryHTTPServer(StandInServer):
    def __init__(self, config: ServerConfig) -> None:
        self.service = Service(config)
        self.upload_api = UploadApi(self.service)
        self.admin_api = AdminApi(self.service)
        self.cdn = Cdn(self.service)
        self.controls = Controls(self.service)
        super().__init__((config.host, config.port), CloudinaryHandler)

    def server_close(self) -> None:
        super().server_close()
        self.service.close()


class CloudinaryHandler(StandInHandler):
    server: CloudinaryHTTPServer

    def failure(self, status: int, message: str) -> Answer:
        return error_answer(status, message)

    def answer(self, request: Request) -> Answer:
        split = urlsplit(request.path)
        path = split.path
        try:
            if path.startswith("/_admin/"):
                return self.server.controls.handle(request.method, path[len("/_admin/"):],
                                                   request.body)
            if path.startswith("/v1_1/"):
                return self.api(request, path, split.query)
            if request.method in ("GET", "HEAD"):
                return self.delivered(path)
            raise NotFound(f"No route for {request.method} {path}")
        except CloudinaryError as exc:
            return error_answer(exc.status, exc.message)

    def delivered(self, path: str) -> Answer:
        """Delivery errors say why in `X-Cld-Error`, as Cloudinary's CDN does."""
        try:
            return self.server.cdn.deliver(path)
        except CloudinaryError as exc:
            return error_answer(exc.status, exc.message, cld_error(exc.message))

    def api(self, request: Request, path: str, query: str) -> Answer:
        # Segments stay percent-encoded until routed: a public_id may contain an encoded "/".
        segments = path.split("/")[2:]
        if not segments or not segments[0]:
            raise NotFound("Missing cloud name")
        cloud, rest = unquote(segments[0]), segments[1:]
        if cloud != self.server.service.config.cloud_name:
            raise AuthorizationRequired(f"Invalid cloud_name {cloud}")
        if (len(rest) == 2 and rest[0] in (*RESOURCE_TYPES, "auto") and rest[1] in ACTIONS
                and request.method == "POST"):
            return self.server.upload_api.handle(rest[0], rest[1], request.headers,
                                                 request.body)
        return self.server.admin_api.handle(request.method, rest, query, request.headers,
                                            request.body)
