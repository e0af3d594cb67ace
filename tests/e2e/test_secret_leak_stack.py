"""The Cloudinary API secret never shows in the app's logs of real flows on the local stack:
the webhook route's and the queue workers'."""

from __future__ import annotations

from pathlib import Path

import cloudinary
import cloudinary.uploader

from emulators.stack import APP_SECRET, local_stack
from tests.fixtures_stack import E2E_SETTINGS


def test_the_app_log_of_real_flows_shows_no_secret(tmp_path: Path) -> None:
    from tests.photos import photos, side_by_side

    p = photos()
    with local_stack(settings=E2E_SETTINGS, log_dir=tmp_path) as stack:
        env = stack.env()
        previous = cloudinary.config().__dict__.copy()
        cloudinary.config(cloud_name=env["CLOUDINARY_CLOUD_NAME"],
                          api_key=env["CLOUDINARY_API_KEY"], api_secret=APP_SECRET,
                          upload_prefix=env["CLOUDINARY_UPLOAD_PREFIX"],
                          cname=env["CLOUDINARY_CNAME"], secure=False)
        try:
            cloudinary.uploader.upload(p["obama"].data, public_id="people/obama",
                                       tags=["train:Barack Obama"])
            cloudinary.uploader.upload(side_by_side(p["obama2"].path, p["biden"].path),
                                       public_id="events/pair")
            cloudinary.uploader.upload(b"not an image at all", public_id="broken",
                                       resource_type="raw")
            stack.wait_for_notifications()
        finally:
            cloudinary.config().__dict__.clear()
            cloudinary.config().__dict__.update(previous)
    log = (tmp_path / "app.log").read_text() + (tmp_path / "workers.log").read_text()
    assert '"outcome": "trained"' in log and '"outcome": "recognised"' in log
    assert APP_SECRET not in log
