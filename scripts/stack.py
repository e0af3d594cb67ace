"""`make stack`: the local stack, `chalice local` and the queue workers, wired together, in the
foreground.

Prints the `export` lines a shell needs for the SDK, the CLI or boto3 to use it (the queue
names among them), the queues and their dead-letter queues, then `facetag local stack ready`,
and runs until interrupted. "Ready" means every server listening is one this command started
and the queue workers poll: a port already taken ends it with one line on stderr and exit
code 1, before anything starts.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from emulators.processes import PortInUse
from emulators.queues import DEAD_LETTER_QUEUES, WORK_QUEUES
from emulators.stack import local_stack


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=None,
                        help="keep the collection and the library here across restarts")
    parser.add_argument("--port", type=int, default=8000, help="port of chalice local")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with tempfile.TemporaryDirectory() as logs:
        try:
            with local_stack(state_dir=args.state_dir, app_port=args.port,
                             log_dir=Path(logs)) as stack:
                for name, value in stack.env().items():
                    print(f"export {name}={shlex.quote(value)}")
                print(f"# webhook: {stack.webhook_url}  (logs in {logs})")
                for role, logical_id in WORK_QUEUES.items():
                    print(f"# {role} queue: {stack.queues[logical_id].name}  dead letters: "
                          f"{stack.queues[DEAD_LETTER_QUEUES[role]].name}")
                print("facetag local stack ready", flush=True)
                with contextlib.suppress(KeyboardInterrupt):
                    stop.wait()
        except PortInUse as err:
            print(f"facetag local stack not started: {err} (--port N)", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
