"""Rekognition's eventual consistency: a face stored moments ago may not be searchable yet.

A search by the FaceId of a face IndexFaces has just returned can answer
InvalidParameterException "faceId was not found in the collection." (seen at random by users,
awsdocs/amazon-rekognition-developer-guide issue 31, never explained). AWS documents lag only
for users (AssociateFaces: `UPDATING` while "associations or disassociations of FaceID(s)" are
"taking place") and publishes no duration. facetag searches right after indexing (recognition)
and right after training (retroactive tagging), so a search by FaceId answered exactly so is
asked again after each pause of a short schedule; past its end the answer is facetag's transient
error and the asset is retried later, as for any outage. Any other error, every other
InvalidParameterException included, goes to the caller at once. A face deleted meanwhile gets
the same answer as one not searchable yet, so it too waits the schedule out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from botocore.exceptions import ClientError

from .face_errors import FacesUnavailable, translating

T = TypeVar("T")

# 6.2 s of pauses in all, well inside the webhook Lambda's 28 s timeout.
SEARCH_PAUSES = (0.2, 0.4, 0.8, 1.6, 3.2)


def not_searchable_yet(error: ClientError) -> bool:
    """Rekognition's answer to a search by a FaceId its index does not hold (yet)."""
    answer = error.response.get("Error", {})
    return (answer.get("Code") == "InvalidParameterException"
            and "faceid was not found in the collection" in str(answer.get("Message", "")).lower())


@dataclass(frozen=True)
class SearchRetry:
    """How long a search by FaceId waits for the face to become searchable."""

    pauses: tuple[float, ...] = SEARCH_PAUSES
    sleep: Callable[[float], None] = time.sleep

    def search(self, collection_id: str, face_id: str, call: Callable[[], T]) -> T:
        """`call`'s answer, asked again while its face is not searchable yet; every failure
        is one of facetag's errors (face_errors.py)."""
        with translating(collection_id):
            answer = self._patiently(face_id, call)
        return answer

    def _patiently(self, face_id: str, call: Callable[[], T]) -> T:
        for pause in self.pauses:
            try:
                return call()
            except ClientError as error:
                if not not_searchable_yet(error):
                    raise
            self.sleep(pause)
        try:
            return call()
        except ClientError as error:
            if not_searchable_yet(error):
                raise FacesUnavailable(
                    f"face {face_id} is not searchable yet after {sum(self.pauses):.1f} s "
                    "(Rekognition's index lags its writes)") from error
            raise


PATIENT_SEARCH = SearchRetry()
