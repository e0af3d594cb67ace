"""`python -m emulators.cloudinary --port PORT [...]`: run the local Cloudinary server."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .server import CloudinaryHTTPServer
from .service import ServerConfig


def _credential(text: str) -> tuple[str, str]:
    key, sep, secret = text.partition(":")
    if not sep or not key or not secret:
        raise argparse.ArgumentTypeError("expected KEY:SECRET")
    return key, secret


def parse_args(argv: list[str] | None = None) -> ServerConfig:
    parser = argparse.ArgumentParser(prog="python -m emulators.cloudinary",
                                     description="Local Cloudinary-compatible server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--cloud-name", default="demo")
    parser.add_argument("--api-key", default="local-key")
    parser.add_argument("--api-secret", default="local-secret")
    parser.add_argument("--credential", type=_credential, action="append", default=[],
                        metavar="KEY:SECRET", help="a further API key of the same environment")
    parser.add_argument("--notification-url", default=None,
                        help="global webhook URL (like the Console setting)")
    parser.add_argument("--state-dir", type=Path, default=None,
                        help="keep the library here across restarts")
    parser.add_argument("--signature-algorithm", choices=("sha1", "sha256"), default="sha1",
                        help="hash for X-Cld-Signature on notifications")
    parser.add_argument("--admin-rate-limit", type=int, default=500,
                        help="Admin API calls allowed per hour")
    parser.add_argument("--drop-rate", type=float, default=0.0,
                        help="fraction of notifications silently dropped")
    parser.add_argument("--duplicate-rate", type=float, default=0.0,
                        help="fraction of notifications delivered twice")
    parser.add_argument("--delay-seconds", type=float, default=0.0,
                        help="delay before each notification is sent")
    parser.add_argument("--seed", type=int, default=None, help="seed for drop/duplicate choices")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    return ServerConfig(
        port=args.port, host=args.host, cloud_name=args.cloud_name, api_key=args.api_key,
        api_secret=args.api_secret, extra_credentials=dict(args.credential),
        notification_url=args.notification_url, state_dir=args.state_dir,
        signature_algorithm=args.signature_algorithm, admin_rate_limit=args.admin_rate_limit,
        drop_rate=args.drop_rate, duplicate_rate=args.duplicate_rate,
        delay_seconds=args.delay_seconds, seed=args.seed, verbose=args.verbose)


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if config.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    server = CloudinaryHTTPServer(config)

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() blocks until serve_forever returns, so call it from another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"local Cloudinary server for cloud {config.cloud_name!r} on "
          f"http://{config.host}:{config.port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
