"""Test-side names for the local stack's process launcher."""

from emulators.processes import PROJECT_DIR, RunningServer, free_port, running

__all__ = ["PROJECT_DIR", "RunningServer", "free_port", "running"]
