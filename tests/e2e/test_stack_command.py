"""`make stack`: the wired local stack in the foreground, with the variables a shell needs."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from emulators.processes import PROJECT_DIR, PortInUse, _wait_for_port, free_port, running


def test_stack_prints_exports_then_ready_and_stops_cleanly() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.stack", "--port", str(free_port())], cwd=PROJECT_DIR,
        stdout=subprocess.PIPE, text=True, start_new_session=True)
    exports: dict[str, str] = {}
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 120
        for line in process.stdout:
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                exports[name] = shlex.split(value)[0]
            if line.strip() == "facetag local stack ready" or time.monotonic() > deadline:
                break
        for name in ("CLOUDINARY_CLOUD_NAME", "CLOUDINARY_API_KEY", "CLOUDINARY_API_SECRET",
                     "CLOUDINARY_UPLOAD_PREFIX", "AWS_ENDPOINT_URL_REKOGNITION",
                     "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
                     "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_SSM"):
            assert exports.get(name), name
        # The printed variables are all a client needs.
        client = boto3.Session(aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
                               aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
                               region_name=exports["AWS_DEFAULT_REGION"]).client(
            "rekognition", endpoint_url=exports["AWS_ENDPOINT_URL_REKOGNITION"])
        assert "CollectionIds" in client.list_collections()
        sqs = boto3.client("sqs", endpoint_url=exports["AWS_ENDPOINT_URL_SQS"],
                           region_name=exports["AWS_DEFAULT_REGION"],
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        assert sqs.create_queue(QueueName="stack-check")["QueueUrl"].endswith("/stack-check")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(30) == 0


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another process listens on (here: this test)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def test_stack_on_a_taken_port_fails_clearly_and_never_says_ready(taken_port: int) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scripts.stack", "--port", str(taken_port)], cwd=PROJECT_DIR,
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert f"port {taken_port} is already in use by another process" in result.stderr
    assert "ready" not in result.stdout and "export" not in result.stdout


def test_a_server_on_a_taken_port_is_refused_before_it_starts(taken_port: int) -> None:
    with pytest.raises(PortInUse), running(["-m", "emulators.rekognition"], port=taken_port):
        pass


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads socket owners in /proc")
def test_another_process_listening_is_not_taken_for_the_server(taken_port: int) -> None:
    """Had the port been taken after the check: the child never listens, someone else does,
    and the wait does not end on the other listener's answer."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with pytest.raises(TimeoutError):
            _wait_for_port(taken_port, child, timeout=2)
    finally:
        child.kill()
        child.wait()
