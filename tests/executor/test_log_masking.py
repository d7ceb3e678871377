"""Log lines carry no secret: request-logging libraries are held at WARNING in every process we configure, and
every record made while a step that read a secret runs is masked (message, arguments, exception text)."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from urllib.parse import quote_plus

import pytest

from services.executor.masking import MASK, masking_step, step_secrets
from services.shared import logs

SECRET = "s3cr3t+K3y/é=="


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Put the root logger, the libraries' levels and the record factory back as they were."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in logs.QUIET_LOGGERS}
    factory = logging.getLogRecordFactory()
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, old in levels.items():
            logging.getLogger(name).setLevel(old)
        logging.setLogRecordFactory(factory)


@pytest.mark.parametrize("level", ["DEBUG", "INFO"])
def test_request_logging_libraries_stay_at_warning_whatever_the_level(restored_logging: None, level: str) -> None:
    logs.configure("executor", level)
    for name in ("httpx", "httpcore", "urllib3", "aiokafka", "requests"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING, name
        assert not logging.getLogger(f"{name}._client").isEnabledFor(logging.INFO)


def test_a_ray_worker_keeps_them_at_warning_too(restored_logging: None) -> None:
    logging.getLogger().handlers.clear()
    logging.getLogger().setLevel(logging.WARNING)
    logs.configure_worker("executor")
    assert logging.getLogger().level == logging.INFO  # the actions' own lines show
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)


def _captured(fmt: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logs.handler("executor", fmt)
    handler.setStream(stream)
    logger = logging.getLogger("tests.log_masking")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_every_line_made_while_a_step_runs_is_masked(restored_logging: None, fmt: str) -> None:
    logs.configure("executor", "INFO")
    logger, stream = _captured(fmt)
    with masking_step({SECRET}):
        assert step_secrets() == {SECRET}
        logger.info("GET https://api.example/v1?key=%s", quote_plus(SECRET))
        logger.warning("body %s", json.dumps({"password": SECRET}))
        try:
            raise ValueError(f"refused {SECRET!r}")
        except ValueError:
            logger.exception("call failed for %r", SECRET)
    logger.info("after the step: %s", "plain")
    output = stream.getvalue()
    assert output.count(MASK) >= 4 and "plain" in output, output
    for form in (SECRET, quote_plus(SECRET), json.dumps(SECRET)[1:-1], repr(SECRET)[1:-1]):
        assert form not in output, output


def test_without_a_step_secret_nothing_is_rewritten(restored_logging: None) -> None:
    logs.configure("executor", "INFO")
    logger, stream = _captured("text")
    with masking_step(set()):
        assert step_secrets() == frozenset()
        logger.info("value %s", SECRET)
    assert SECRET in stream.getvalue()


def test_what_is_printed_while_a_step_runs_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", sys.stderr)  # wrapped too: put back afterwards
    logs.redact_streams()
    logs.redact_streams()  # once: not wrapped twice
    assert isinstance(sys.stdout, logs.RedactingStream) and sys.stdout.wrapped is out
    with masking_step({SECRET}):
        print(f"token={SECRET} {SECRET!r}")
    print(f"outside: {SECRET}")
    assert out.getvalue() == f"token={MASK} '{MASK}'\noutside: {SECRET}\n"
