"""The backend's state: collections and remembered request tokens under one lock, written to
the state file after each change, and the clock that says what searches see yet."""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from .exceptions import IdempotentParameterMismatchException, ResourceNotFoundException
from .records import Collection
from .state import StateFile

# ClientRequestTokens remembered (AWS does not say for how long); oldest forgotten first.
TOKEN_MEMORY = 10_000


class Store:
    def __init__(self, state_file: StateFile | None = None, consistency_delay: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if consistency_delay < 0:
            raise ValueError("the consistency delay cannot be negative")
        self.lock = threading.RLock()
        self.collections: dict[str, Collection] = {}
        self.consistency_delay = consistency_delay
        self._clock = clock
        self._state_file = state_file
        self._tokens: OrderedDict[tuple[str, str], tuple[str, dict[str, Any]]] = OrderedDict()
        saved = state_file.load() if state_file is not None else None
        for data in (saved or {}).get("Collections", []):
            collection = Collection.from_json(data)
            self.collections[collection.collection_id] = collection

    def now(self) -> float:
        return self._clock()

    def searchable_at(self) -> float:
        """When a change made now reaches the search index."""
        return self.now() + self.consistency_delay

    def reset(self) -> None:
        with self.lock:
            self.collections.clear()
            self._tokens.clear()
            self.persist()

    def persist(self) -> None:
        if self._state_file is not None:
            self._state_file.save({"Collections": [c.to_json()
                                                   for c in self.collections.values()]})

    def collection(self, collection_id: str) -> Collection:
        collection = self.collections.get(collection_id)
        if collection is None:
            raise ResourceNotFoundException(
                f"The collection id: {collection_id} does not exist")
        return collection

    def require_user(self, collection: Collection, user_id: str) -> None:
        if user_id not in collection.users:
            raise ResourceNotFoundException(f"The user id: {user_id} does not exist")

    def idempotent(self, operation: str, token: str | None, params: dict[str, Any],
                   run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Same token and parameters: the first response again. Other parameters: mismatch."""
        if token is None:
            return run()
        fingerprint = json.dumps(params, sort_keys=True)
        key = (operation, token)
        remembered = self._tokens.get(key)
        if remembered is not None:
            if remembered[0] != fingerprint:
                raise IdempotentParameterMismatchException()
            return remembered[1]
        response = run()
        self._tokens[key] = (fingerprint, response)
        while len(self._tokens) > TOKEN_MEMORY:
            self._tokens.popitem(last=False)
        return response
