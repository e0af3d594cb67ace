"""The route under `chalice local`, misconfigured: callers learn nothing of the configuration.

A configuration error cannot be fixed by any caller; its text names facetag's variables and
parameter, so it goes to the log only, and every caller (signed or not) gets one generic 500.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from emulators.processes import PROJECT_DIR, running
from emulators.stack import APP_KEY, APP_SECRET, stack_env

BODY = json.dumps({"notification_type": "upload", "asset_id": "0a1b2c",
                   "public_id": "events/IMG_1", "version": 1, "resource_type": "image",
                   "type": "upload", "format": "jpg", "tags": []}).encode()


def post(url: str, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=BODY, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as answer:
        return answer.code, answer.read().decode()


def test_a_misconfigured_app_answers_a_generic_500_and_logs_why(tmp_path: Path) -> None:
    # Nothing listens at these addresses: the settings fail before any service is asked.
    nowhere = "http://127.0.0.1:9"
    env = stack_env(nowhere, nowhere, nowhere, APP_KEY, APP_SECRET,
                    {"FACETAG_MATCH_THRESHOLD": "high"})
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDINARY_", "FACETAG_"))}
    chalice = str(Path(sys.executable).parent / "chalice")
    log = tmp_path / "app.log"
    timestamp = str(int(time.time()))
    signature = hashlib.sha1(BODY + timestamp.encode() + APP_SECRET.encode()).hexdigest()
    with running([chalice, "--project-dir", str(PROJECT_DIR), "local", "--stage", "local",
                  "--no-autoreload"], env={**clean, **env}, replace_env=True,
                 log_path=log) as app:
        url = f"{app.url}/webhooks/cloudinary"
        answers = [post(url, {}),
                   post(url, {"X-Cld-Timestamp": timestamp, "X-Cld-Signature": signature})]
    for status, body in answers:
        assert status == 500
        assert json.loads(body) == {"error": "facetag is misconfigured; its log says why"}
    misconfigured = [json.loads(line) for line in log.read_text().splitlines()
                     if '"outcome": "misconfigured"' in line]
    assert len(misconfigured) == 2
    assert all("FACETAG_MATCH_THRESHOLD" in line["reason"] for line in misconfigured)
