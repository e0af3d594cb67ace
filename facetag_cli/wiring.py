"""Where the commands get what they work on: one factory, the app's own runtime by default.

Each part is built when a command first asks for it, so `--help` and usage errors need no
configuration and `webhook list` needs no AWS region. Tests hand the commands a factory over
in-memory fakes instead (`cli.main(obj=...)`, or click's CliRunner with `obj=`).
"""

from __future__ import annotations

from typing import Protocol

from chalicelib import credentials, runtime
from chalicelib.reconcile import Options, Progress, Summary, reconcile
from chalicelib.settings import Settings
from chalicelib.tagging import Tagger
from facetag_cli.account import Account, CloudinaryAccount


class Wiring(Protocol):
    def settings(self) -> Settings: ...

    def tagger(self) -> Tagger: ...

    def account(self) -> Account: ...

    def reconcile(self, options: Options, progress: Progress) -> Summary: ...


class FromEnvironment:
    """The app's settings, clients and tagger (chalicelib.runtime), from this environment."""

    def settings(self) -> Settings:
        return runtime.settings()

    def tagger(self) -> Tagger:
        return runtime.tagger()

    def account(self) -> Account:
        credentials.configure_sdk(runtime.secret())
        return CloudinaryAccount()

    def reconcile(self, options: Options, progress: Progress) -> Summary:
        return reconcile(self.tagger(), options=options, progress=progress)
