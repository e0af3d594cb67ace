"""Backfill on AWS: tag the library a team already has, without an operator's machine.

`facetag backfill` starts a run (`control.start_run`): its state goes to one SSM parameter
(`state`), and the first page message to the scan queue. Each page message is one invocation of
the scan function (`scan`): one Search page of 500 assets lacking the current marker, the ones
`decide` says need work sent to the backfill queue as chunks of 100 (the backfill workers read
each chunk in one Admin call and process it on current state), then the next page message,
until the cursor is exhausted. The scan keeps inside Cloudinary's hourly Admin quota: when it
runs low, the page message is sent again delayed towards the quota's reset. `figures` holds the
dry run's estimate and the status's measured progress.
"""

from .control import AlreadyRunning, scope_expression, start_run, stop_run
from .figures import Estimate, Report, estimate, measure
from .scan import Scan
from .state import RunState, RunStatus, load

__all__ = ["AlreadyRunning", "Estimate", "Report", "RunState", "RunStatus", "Scan", "estimate",
           "load", "measure", "scope_expression", "start_run", "stop_run"]
