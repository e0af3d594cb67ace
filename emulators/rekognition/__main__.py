"""`python -m emulators.rekognition --port PORT [--state-dir DIR] [--fault-rate R]
[--consistency-delay-ms MS] [--tps N] [--tps OPERATION=N]`."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from .admin import FaultInjector
from .engine import FaceEngine
from .models import RekognitionBackend
from .quota import QuotaPlan, TpsQuota
from .responses import HANDLERS
from .server import RekognitionServer
from .state import StateFile

# Read here so a whole local stack (e2e tests, `make stack`) runs eventually consistent when set.
CONSISTENCY_DELAY_ENV = "FACETAG_STANDIN_CONSISTENCY_DELAY_MS"
# Likewise the TPS quota, in `--tps`'s form ("5", "5,IndexFaces=2").
TPS_ENV = "FACETAG_STANDIN_REKOGNITION_TPS"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.rekognition",
        description="Local Amazon Rekognition (face collections) server for development.")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--state-dir", type=Path,
                        help="keep the collections in a JSON file here across restarts")
    parser.add_argument("--fault-rate", type=float, default=0.0,
                        help="fraction of AWS calls answered with a transient error")
    parser.add_argument("--fault-seed", type=int, help="seed for reproducible faults")
    parser.add_argument("--consistency-delay-ms", type=int,
                        default=int(os.environ.get(CONSISTENCY_DELAY_ENV) or 0),
                        help="milliseconds before new faces and user changes are searchable "
                             f"(default: ${CONSISTENCY_DELAY_ENV}, else 0)")
    parser.add_argument("--tps", action="append", metavar="N|OPERATION=N",
                        help="TPS quota of every operation (N) or of one (OPERATION=N), a "
                             "token bucket each, ProvisionedThroughputExceededException beyond "
                             f"it; repeatable (default: ${TPS_ENV}, else no quota)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    quota = TpsQuota(HANDLERS)
    try:
        plan = QuotaPlan.parse(args.tps or [os.environ.get(TPS_ENV) or ""])
        quota.follow(plan)
    except ValueError as error:
        parser.error(f"--tps: {error}")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # Models load before the port opens: callers treat an open port as "ready".
    engine = FaceEngine()
    backend = RekognitionBackend(engine, StateFile(args.state_dir) if args.state_dir else None,
                                 args.consistency_delay_ms / 1000)
    faults = FaultInjector()
    if args.fault_rate:
        faults.configure({"rate": args.fault_rate, "seed": args.fault_seed})
    server = RekognitionServer((args.host, args.port), backend, faults, quota)
    log = logging.getLogger("facetag.emulators.rekognition")
    log.info("Rekognition server on http://%s:%d", args.host, server.server_address[1])
    if args.consistency_delay_ms:
        log.info("eventually consistent: searches see changes after %d ms",
                 args.consistency_delay_ms)
    if plan.default is not None or plan.operations:
        log.info("TPS quota: %s for every operation, %s by name", plan.default,
                 dict(plan.operations) or "none")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
