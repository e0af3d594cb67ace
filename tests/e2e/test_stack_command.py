"""`make stack`: the wired local stack in the foreground, with the variables a shell needs."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time

import boto3
import pytest

from emulators.processes import PROJECT_DIR, free_port



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
                     "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            assert exports.get(name), name
        # The printed variables are all a client needs.
        client = boto3.Session(aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
                               aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
                               region_name=exports["AWS_DEFAULT_REGION"]).client(
            "rekognition", endpoint_url=exports["AWS_ENDPOINT_URL_REKOGNITION"])
        assert "CollectionIds" in client.list_collections()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(30) == 0
