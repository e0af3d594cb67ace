"""`--state-dir` keeps the local Cloudinary library across restarts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cloudinary
import cloudinary.api
import cloudinary.uploader
import cloudinary.utils
import urllib3

from tests.fixtures_cloudinary import CloudinaryServer, jpeg_bytes, sdk_config_for
from tests.servers import free_port, running


@contextmanager
def server_with_state(state_dir: Path, port: int) -> Iterator[CloudinaryServer]:
    argv = ["-m", "emulators.cloudinary", "--state-dir", str(state_dir)]
    with running(argv, port=port, timeout=30) as process:
        server = CloudinaryServer(process)
        config = cloudinary.config()
        saved = dict(vars(config))
        config.__dict__.update(sdk_config_for(server))
        try:
            yield server
        finally:
            config.__dict__.clear()
            config.__dict__.update(saved)


def test_restart_keeps_assets_tags_context_originals_and_triggers(tmp_path: Path) -> None:
    port = free_port()
    with server_with_state(tmp_path, port):
        first = cloudinary.uploader.upload(jpeg_bytes(300, 200), public_id="events/a",
                                           tags="t1", context={"k": "v"})
        cloudinary.uploader.add_tag("t2", ["events/a"])
        cloudinary.uploader.upload(jpeg_bytes(), public_id="gone")
        cloudinary.uploader.destroy("gone")
        cloudinary.api.create_trigger("http://127.0.0.1:9/hook", "upload")
    with server_with_state(tmp_path, port):
        details = cloudinary.api.resource("events/a")
        assert details["asset_id"] == first["asset_id"]
        assert details["version"] == first["version"]
        assert details["tags"] == ["t1", "t2"]
        assert details["context"] == {"custom": {"k": "v"}}
        assert [t["uri"] for t in cloudinary.api.triggers()["triggers"]] == ["http://127.0.0.1:9/hook"]
        assert cloudinary.Search().expression("type:upload").execute()["total_count"] == 1
        url, _ = cloudinary.utils.cloudinary_url("events/a", crop="limit", width=100, height=100,
                                                 fetch_format="jpg", version=first["version"])
        assert urllib3.request("GET", url).status == 200
        second = cloudinary.uploader.upload(jpeg_bytes(), public_id="new")
        assert second["version"] > first["version"]
