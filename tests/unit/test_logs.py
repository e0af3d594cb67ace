"""JSON log lines: one object per line, extra fields at the top level, idempotent setup."""

import contextlib
import io
import json
import logging
import sys

from chalicelib.logs import JsonFormatter, configure


def record(msg="asset %s tagged", args=("a1",), exc_info=None, **extra):
    rec = logging.LogRecord("facetag.tagging", logging.INFO, __file__, 10, msg, args, exc_info)
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


def test_a_line_is_one_json_object_with_the_fixed_fields():
    line = JsonFormatter().format(record())
    assert "\n" not in line
    data = json.loads(line)
    assert data["level"] == "INFO" and data["logger"] == "facetag.tagging"
    assert data["message"] == "asset a1 tagged"
    assert data["timestamp"].endswith("+00:00")


def test_extra_fields_become_top_level_keys():
    data = json.loads(JsonFormatter().format(record(
        asset_id="a1", notification_type="upload", outcome="tagged", faces=3,
        people=["José García", "李小龙"])))
    assert data["asset_id"] == "a1" and data["faces"] == 3
    assert data["people"] == ["José García", "李小龙"]
    assert "args" not in data and "msg" not in data and "exc_info" not in data


def test_fixed_keys_win_over_an_extra_of_the_same_name():
    data = json.loads(JsonFormatter().format(record(level="fake", logger="fake")))
    assert data["level"] == "INFO" and data["logger"] == "facetag.tagging"


def test_values_json_cannot_hold_are_written_as_text():
    data = json.loads(JsonFormatter().format(record(when=object, ids={"a"})))
    assert "object" in data["when"] and "a" in data["ids"]


def test_exceptions_become_error_and_traceback_strings():
    try:
        raise RuntimeError("Rekognition throttled")
    except RuntimeError:
        exc_info = sys.exc_info()
    data = json.loads(JsonFormatter().format(record(exc_info=exc_info)))
    assert data["error"] == "RuntimeError: Rekognition throttled"
    assert data["traceback"].startswith("Traceback") and "raise RuntimeError" in data["traceback"]


def test_a_record_without_exception_has_no_error_key():
    assert "error" not in json.loads(JsonFormatter().format(record()))


@contextlib.contextmanager
def bare_root():
    """The root logger with only the handlers the test gives it, restored afterwards.

    Entered inside the test body: pytest adds its capture handlers after fixtures run.
    """
    root, facetag = logging.getLogger(), logging.getLogger("facetag")
    handlers, level = root.handlers[:], facetag.level
    root.handlers = []
    try:
        yield root
    finally:
        root.handlers = handlers
        facetag.setLevel(level)  # setLevel, not assignment: it also clears the level cache


def test_configure_replaces_the_formatter_of_an_existing_handler():
    stream = io.StringIO()
    lambda_handler = logging.StreamHandler(stream)  # what the Lambda runtime installs
    lambda_handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    with bare_root() as root:
        root.addHandler(lambda_handler)
        configure(logging.INFO)
        configure(logging.INFO)
        assert root.handlers == [lambda_handler]
        logging.getLogger("facetag.webhook").info(
            "notification processed", extra={"asset_ids": ["a1"], "status": 200})
    [line] = stream.getvalue().splitlines()
    data = json.loads(line)
    assert data["message"] == "notification processed" and data["asset_ids"] == ["a1"]


def test_configure_adds_one_handler_when_there_is_none():
    with bare_root() as root:
        configure(logging.INFO)
        configure(logging.INFO)
        assert len(root.handlers) == 1
        assert isinstance(root.handlers[0].formatter, JsonFormatter)


def test_configure_sets_the_facetag_level():
    with bare_root():
        configure(logging.WARNING)
        assert not logging.getLogger("facetag.webhook").isEnabledFor(logging.INFO)
        configure("DEBUG")
        assert logging.getLogger("facetag.webhook").isEnabledFor(logging.DEBUG)
