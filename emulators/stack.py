"""The whole local stack wired together: both emulators, moto's server with facetag's queues,
`chalice local` and the queue workers.

The Cloudinary emulator posts its notifications to the app's webhook route; the app reaches
both emulators, and SQS and SSM on moto's server (docs/local-stack-sqs.md), through the same
configuration variables it would use for the real services. The queues are the stage `local`
of `infra/queues.json`; `emulators/workers.py` feeds them to the app's SQS handlers.
Used by the demo, `make stack` and the end-to-end tests.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from chalicelib.settings import ENV_NAMES, from_env
from chalicelib.sizing import Sizing

from .common.admin_client import admin
from .processes import PROJECT_DIR, RunningServer, ensure_free, free_port, running
from .queues import DEAD_LETTER_QUEUES, WORK_QUEUES, Queue, create_queues, sizing_parameters

CLOUD_NAME = "demo"
APP_KEY, APP_SECRET = "facetag-key", "facetag-local-secret"
# A second API key of the same product environment: what a librarian's own tools use, so the
# app can tell its own writes from a person's.
LIBRARIAN_KEY, LIBRARIAN_SECRET = "librarian-key", "librarian-local-secret"
STAGE = "local"  # of infra/queues.json: facetag-local-live.fifo, ...
# Failed messages come back after 1 s, 2 s, 4 s...: the default (30 s) would stall local runs.
LOCAL_SETTINGS = {"FACETAG_RETRY_DELAY_S": "1"}
IDLE_LOOKS = 2  # looks in a row that find nothing: work that moves twice during one look
BUSY_POLL_S = 0.05  # between looks while work is pending


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
    workers: RunningServer  # the app's SQS handlers fed from the queues (emulators/workers.py)
    queues: Mapping[str, Queue]  # by the template's logical id (emulators/queues.py)
    settings: Mapping[str, str] = field(default_factory=dict)  # with the queues' names
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

    def sqs_client(self) -> Any:
        return aws_client("sqs", self.aws.url)

    def _messages(self, client: Any, queue: Queue) -> int:
        """Messages on `queue`: visible, in flight and delayed."""
        counts = client.get_queue_attributes(QueueUrl=queue.url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed"])["Attributes"]
        return sum(int(n) for n in counts.values())

    def _idle(self, client: Any) -> bool:
        """One look at every place work waits: Cloudinary's pending notifications and the live,
        backfill and scan queues, read in that order and then back again.

        Work moves by handoffs that never leave a gap: a notification stays pending until the
        route has queued its message, and a worker writes (queuing echo notifications) and sends
        its follow-ups before it deletes its own message. Each place is read both before and
        after every other, so work handed from one place to another while they are read is
        seen in one of them."""
        if self.workers.process.poll() is not None:
            raise RuntimeError(f"the queue workers exited with code "
                               f"{self.workers.process.returncode} (see workers.log)")
        queues = [self.queues[q] for q in WORK_QUEUES.values()]
        places: list[Callable[[], int]] = [
            lambda: int(admin(self.cloudinary.url, "notifications/pending")["pending"]),
            *(functools.partial(self._messages, client, q) for q in queues)]
        return not any(count() for count in [*places, *reversed(places[:-1])])

    def wait_for_notifications(self, timeout: float = 60.0) -> None:
        """Until every notification has been delivered and answered and the live, backfill and
        scan queues hold no message (a handler's writes cause echo notifications, which queue
        new messages), seen in IDLE_LOOKS looks in a row."""
        client = self.sqs_client()
        deadline = time.monotonic() + timeout
        idle_looks = 0
        while time.monotonic() < deadline:
            idle_looks = idle_looks + 1 if self._idle(client) else 0
            if idle_looks == IDLE_LOOKS:
                return
            if not idle_looks:
                time.sleep(BUSY_POLL_S)
        raise TimeoutError("notifications pending or queued work not done")

    def dead_letters(self) -> dict[str, int]:
        """Messages in each dead-letter queue, by role: live, backfill, scan."""
        client = self.sqs_client()
        return {role: self._messages(client, self.queues[q])
                for role, q in DEAD_LETTER_QUEUES.items()}

    def take_dead_letters(self, role: str) -> list[str]:
        """The bodies of every message in the `role` queue's dead-letter queue, which is then
        empty (received and deleted: a FIFO queue hands out no more of a group while some of
        it is in flight)."""
        client, url = self.sqs_client(), self.queues[DEAD_LETTER_QUEUES[role]].url
        bodies: list[str] = []
        while messages := client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
                "Messages", []):
            bodies.extend(m["Body"] for m in messages)
            client.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(messages)])
        return bodies


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


def aws_client(service: Literal["sqs", "ssm"], url: str) -> Any:
    """A boto3 client of moto's server at `url`."""
    import boto3

    return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def queue_settings(queues: Mapping[str, Queue]) -> dict[str, str]:
    """The app's settings naming the work queues."""
    return {ENV_NAMES[f"{role}_queue"]: queues[q].name for role, q in WORK_QUEUES.items()}


def app_settings(chosen: Mapping[str, str], queues: Mapping[str, Queue]) -> dict[str, str]:
    """The settings the app runs with: the local defaults, then the caller's, then the names
    of the queues created (no other queue exists)."""
    return {**LOCAL_SETTINGS, **chosen, **queue_settings(queues)}


def _create_secret_parameter(aws_url: str, settings: Mapping[str, str]) -> None:
    """The Cloudinary secret in SSM, when a setting says the app reads it from there."""
    name = settings.get(ENV_NAMES["cloudinary_secret_param"])
    if name:
        aws_client("ssm", aws_url).put_parameter(Name=name, Value=APP_SECRET,
                                                 Type="SecureString", Overwrite=True)


@contextlib.contextmanager
def local_stack(state_dir: Path | None = None, settings: Mapping[str, str] | None = None,
                app_port: int | None = None, log_dir: Path | None = None,
                workers_app: str = "app") -> Iterator[LocalStack]:
    """Start everything; stop everything when the block ends, whatever happens in it.

    `settings` go into the app's environment (`FACETAG_RETRY_DELAY_S` is 1 unless they say
    otherwise); the queue workers run the SQS handlers of the module `workers_app`.
    PortInUse before anything starts when `app_port` is taken.
    """
    if app_port:
        ensure_free(app_port)
    app_port = app_port or free_port()
    webhook = f"http://127.0.0.1:{app_port}/webhooks/cloudinary"

    def state_args(name: str) -> list[str]:
        return ["--state-dir", str(state_dir / name)] if state_dir else []

    def log(name: str) -> Path | None:
        return log_dir / f"{name}.log" if log_dir else None

    with contextlib.ExitStack() as stack:
        rek = stack.enter_context(running(
            ["-m", "emulators.rekognition", *state_args("rekognition")], log_path=log(
                "rekognition")))
        cld = stack.enter_context(running(
            ["-m", "emulators.cloudinary", "--notification-url", webhook,
             "--cloud-name", CLOUD_NAME, "--api-key", APP_KEY, "--api-secret", APP_SECRET,
             "--credential", f"{LIBRARIAN_KEY}:{LIBRARIAN_SECRET}",
             *state_args("cloudinary")], log_path=log("cloudinary")))
        aws = stack.enter_context(running(["-m", "emulators.aws_server"], log_path=log("moto")))
        sizing = Sizing(from_env(settings or {}).rekognition_tps)
        queues = create_queues(aws_client("sqs", aws.url), STAGE, sizing_parameters(sizing))
        chosen = app_settings(settings or {}, queues)
        _create_secret_parameter(aws.url, chosen)
        env = stack_env(rek.url, cld.url, aws.url, APP_KEY, APP_SECRET, chosen)
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith(("CLOUDINARY_", "FACETAG_"))}
        workers = stack.enter_context(running(
            ["-m", "emulators.workers", "--app", workers_app], env={**clean, **env},
            replace_env=True, log_path=log("workers")))
        app = stack.enter_context(running(
            [_chalice_bin(), "--project-dir", str(PROJECT_DIR), "local", "--stage", "local",
             "--no-autoreload"],
            port=app_port, env={**clean, **env}, replace_env=True, log_path=log("app")))
        yield LocalStack(rek, cld, app, aws, workers, queues, chosen, log_dir)
