"""The whole local stack wired together: both emulators, moto's server and `chalice local`.

The Cloudinary emulator posts its notifications to the app's webhook route; the app reaches
both emulators, and SQS and SSM on moto's server (docs/local-stack-sqs.md), through the same
configuration variables it would use for the real services.
Used by the demo, `make stack` and the end-to-end tests.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .common.admin_client import admin
from .processes import PROJECT_DIR, RunningServer, ensure_free, free_port, running

CLOUD_NAME = "demo"
APP_KEY, APP_SECRET = "facetag-key", "facetag-local-secret"
# A second API key of the same product environment: what a librarian's own tools use, so the
# app can tell its own writes from a person's.
LIBRARIAN_KEY, LIBRARIAN_SECRET = "librarian-key", "librarian-local-secret"


@contextlib.contextmanager
def kept_sdk_config() -> Iterator[None]:
    """The block may change the `cloudinary` SDK's global configuration; afterwards it is
    exactly as it was before."""
    import cloudinary

    previous = cloudinary.config().__dict__.copy()
    try:
        yield
    finally:
        cloudinary.config().__dict__.clear()
        cloudinary.config().__dict__.update(previous)


@dataclass(frozen=True)
class LocalStack:
    rekognition: RunningServer
    cloudinary: RunningServer
    app: RunningServer
    aws: RunningServer  # moto's server: SQS and SSM
    settings: Mapping[str, str] = field(default_factory=dict)
    log_dir: Path | None = None  # each server's output, when kept: <name>.log

    @property
    def webhook_url(self) -> str:
        return f"{self.app.url}/webhooks/cloudinary"

    def env(self, api_key: str = APP_KEY, api_secret: str = APP_SECRET) -> dict[str, str]:
        """Every variable an SDK client, the CLI or the app needs to use this stack."""
        return stack_env(self.rekognition.url, self.cloudinary.url, self.aws.url, api_key,
                         api_secret, self.settings)

    @contextlib.contextmanager
    def sdk(self, api_key: str = LIBRARIAN_KEY, api_secret: str = LIBRARIAN_SECRET
            ) -> Iterator[None]:
        """This process's `cloudinary` SDK pointed at the stack (by default with the
        librarian's key) while the block runs; its previous configuration afterwards."""
        import cloudinary

        with kept_sdk_config():
            cloudinary.config(cloud_name=CLOUD_NAME, api_key=api_key, api_secret=api_secret,
                              upload_prefix=self.cloudinary.url,
                              cname=self.cloudinary.url.removeprefix("http://"), secure=False)
            yield

    def rekognition_client(self) -> Any:
        import boto3

        return boto3.client("rekognition", endpoint_url=self.rekognition.url,
                            region_name="us-east-1", aws_access_key_id="testing",
                            aws_secret_access_key="testing")

    def wait_for_notifications(self, timeout: float = 60.0) -> None:
        """Until every notification has been delivered and answered (and stays so briefly:
        an answer may queue the echo of the app's own writes)."""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            if admin(self.cloudinary.url, "notifications/pending")["pending"] == 0:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 0.3:
                    return
            else:
                quiet_since = None
            time.sleep(0.05)
        raise TimeoutError("notifications still pending")


def stack_env(rekognition_url: str, cloudinary_url: str, aws_url: str, api_key: str,
              api_secret: str, settings: Mapping[str, str] | None = None) -> dict[str, str]:
    host = cloudinary_url.removeprefix("http://")
    return {
        "CLOUDINARY_CLOUD_NAME": CLOUD_NAME,
        "CLOUDINARY_API_KEY": api_key,
        "CLOUDINARY_API_SECRET": api_secret,
        "CLOUDINARY_UPLOAD_PREFIX": cloudinary_url,
        "CLOUDINARY_CNAME": host,
        "CLOUDINARY_SECURE": "false",
        "AWS_ENDPOINT_URL_REKOGNITION": rekognition_url,
        # botocore reads these: an unmodified boto3 client reaches moto's server.
        "AWS_ENDPOINT_URL_SQS": aws_url,
        "AWS_ENDPOINT_URL_SSM": aws_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        **(settings or {}),
    }


def _chalice_bin() -> str:
    return str(Path(sys.executable).parent / "chalice")


@contextlib.contextmanager
def local_stack(state_dir: Path | None = None, settings: Mapping[str, str] | None = None,
                app_port: int | None = None, log_dir: Path | None = None) -> Iterator[LocalStack]:
    """Start everything; stop everything when the block ends, whatever happens in it.

    PortInUse before anything starts when `app_port` is taken.
    """
    if app_port:
        ensure_free(app_port)
    app_port = app_port or free_port()
    webhook = f"http://127.0.0.1:{app_port}/webhooks/cloudinary"
    state_args = (lambda name: ["--state-dir", str(state_dir / name)]) if state_dir else (
        lambda name: [])

    def output(name: str) -> dict[str, Path | None]:
        return {"log_path": log_dir / f"{name}.log" if log_dir else None}

    with contextlib.ExitStack() as stack:
        rek = stack.enter_context(running(
            ["-m", "emulators.rekognition", *state_args("rekognition")], **output("rekognition")))
        cld = stack.enter_context(running(
            ["-m", "emulators.cloudinary", "--notification-url", webhook,
             "--cloud-name", CLOUD_NAME, "--api-key", APP_KEY, "--api-secret", APP_SECRET,
             "--credential", f"{LIBRARIAN_KEY}:{LIBRARIAN_SECRET}",
             *state_args("cloudinary")], **output("cloudinary")))
        aws = stack.enter_context(running(
            ["-m", "moto.server"], log_path=log_dir / "moto.log" if log_dir else None))
        env = stack_env(rek.url, cld.url, aws.url, APP_KEY, APP_SECRET, settings)
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDINARY_", "FACETAG_"))}
        app = stack.enter_context(running(
            [_chalice_bin(), "--project-dir", str(PROJECT_DIR), "local", "--stage", "local",
             "--no-autoreload"],
            port=app_port, env={**clean, **env}, replace_env=True, **output("app")))
        yield LocalStack(rek, cld, app, aws, dict(settings or {}), log_dir)
