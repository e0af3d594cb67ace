"""The pacer spaces each operation's calls per thread; FaceIndex paces every Rekognition call
through it. A fake clock: nothing really sleeps."""

from __future__ import annotations

import threading

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.faces import FaceIndex
from chalicelib.pacing import Pacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_calls_of_one_operation_are_spaced_at_the_rate(clock: FakeClock) -> None:
    pacer = Pacer(2.0, clock, clock.sleep)
    for _ in range(4):
        pacer.wait("SearchUsers")
    assert clock.slept == [0.5, 0.5, 0.5]


def test_each_operation_has_its_own_pace(clock: FakeClock) -> None:
    pacer = Pacer(1.0, clock, clock.sleep)
    pacer.wait("IndexFaces")
    pacer.wait("SearchUsers")
    pacer.wait("ListFaces")
    assert clock.slept == []
    pacer.wait("IndexFaces")
    assert clock.slept == [1.0]


def test_time_spent_elsewhere_counts_towards_the_spacing(clock: FakeClock) -> None:
    pacer = Pacer(1.0, clock, clock.sleep)
    pacer.wait("IndexFaces")
    clock.now += 0.75  # the call itself, the download...
    pacer.wait("IndexFaces")
    clock.now += 5.0
    pacer.wait("IndexFaces")
    assert clock.slept == [0.25]


def test_each_thread_keeps_its_own_pace(clock: FakeClock) -> None:
    pacer = Pacer(1.0, clock, clock.sleep)
    pacer.wait("IndexFaces")
    other = threading.Thread(target=pacer.wait, args=("IndexFaces",))
    other.start()
    other.join()
    assert clock.slept == []  # another worker: its first call is not held back


def test_a_pace_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Pacer(0.0)


def test_face_index_paces_every_rekognition_call(clock: FakeClock) -> None:
    client = boto3.client("rekognition", region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="x")
    faces = FaceIndex(client, "facetag", pacer=Pacer(0.5, clock, clock.sleep))
    with Stubber(client) as stubber:
        for _ in range(3):
            stubber.add_response("create_user", {}, {"CollectionId": "facetag", "UserId": "u"})
        stubber.add_response("delete_user", {}, {"CollectionId": "facetag", "UserId": "u"})
        for _ in range(3):
            faces.ensure_user("u")
        faces.delete_user("u")
    assert clock.slept == [2.0, 2.0]  # CreateUser spaced; DeleteUser has its own pace
    assert faces.calls.total == 4
