"""Chunked uploads (the SDK's `upload_large`): each chunk is a signed upload call carrying
`Content-Range: bytes <first>-<last>/<total>` and `X-Unique-Upload-Id`; the asset is made
from the whole file once every byte has arrived, never from one chunk alone."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from .exceptions import BadRequest

# Browser clients send a total of -1 until the last chunk, when the size is known.
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|-1)$")


@dataclass
class _Partial:
    public_id: str  # fixed by the first chunk, so every chunk names the same asset
    parts: dict[int, bytes] = field(default_factory=dict)  # by first byte
    total: int | None = None

    def assembled(self) -> bytes | None:
        if self.total is None:
            return None
        pieces, position = [], 0
        while position < self.total:
            part = self.parts.get(position)
            if part is None:
                return None
            pieces.append(part)
            position += len(part)
        return b"".join(pieces) if position == self.total else None


@dataclass(frozen=True)
class Chunk:
    public_id: str
    whole_file: bytes | None  # once the last missing chunk has arrived


class ChunkedUploads:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._uploads: dict[str, _Partial] = {}

    def add(self, upload_id: str, content_range: str, chunk: bytes, public_id: str) -> Chunk:
        """Keep this chunk; the upload's `public_id` is the one its first chunk asked for."""
        match = _CONTENT_RANGE.match(content_range.strip())
        if not match:
            raise BadRequest(f"Invalid Content-Range {content_range!r}")
        if not upload_id:
            raise BadRequest("Missing X-Unique-Upload-Id for a chunked upload")
        first, last = int(match.group(1)), int(match.group(2))
        total = None if match.group(3) == "-1" else int(match.group(3))
        if last - first + 1 != len(chunk) or (total is not None and last >= total):
            raise BadRequest(f"Content-Range {content_range!r} does not match the "
                             f"{len(chunk)}-byte chunk")
        with self._lock:
            partial = self._uploads.setdefault(upload_id, _Partial(public_id))
            if total is not None:
                if partial.total not in (None, total):
                    raise BadRequest(f"Content-Range total changed from {partial.total} "
                                     f"to {total}")
                partial.total = total
            partial.parts[first] = chunk
            data = partial.assembled()
            if data is not None:
                del self._uploads[upload_id]
            return Chunk(partial.public_id, data)

    def clear(self) -> None:
        with self._lock:
            self._uploads.clear()
