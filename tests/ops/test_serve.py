"""`verity serve` builds the gunicorn configuration it promises (no server is started)."""

from __future__ import annotations

from io import StringIO
from typing import Any
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from verity.core.management.commands import serve
from verity.core.management.commands.serve import VerityApplication, gunicorn_options


def test_default_options_suit_a_small_machine() -> None:
    app = VerityApplication(gunicorn_options(host="127.0.0.1", port=8000, workers=2, threads=4))
    cfg = app.cfg
    assert cfg.bind == ["127.0.0.1:8000"]
    assert cfg.workers == 2
    assert cfg.threads == 4
    assert cfg.worker_class_str == "gthread"
    assert cfg.accesslog is None  # off unless asked for
    assert cfg.timeout == 30
    assert cfg.max_requests > 0
    assert cfg.control_socket_disable is True
    # Each worker starts filling its in-memory search index as it starts.
    assert cfg.post_worker_init is serve.load_search_index


def test_ipv6_host_is_bracketed_and_access_log_goes_to_stdout() -> None:
    cfg = VerityApplication(
        gunicorn_options(host="::1", port=9000, workers=1, threads=1, access_log=True)
    ).cfg
    assert cfg.bind == ["[::1]:9000"]
    assert cfg.accesslog == "-"
    assert cfg.worker_class_str == "sync"  # one thread: plain sync worker


def test_unknown_setting_is_refused() -> None:
    # Gunicorn reports configuration errors and exits.
    with pytest.raises(SystemExit):
        VerityApplication({"no_such_setting": 1})


def test_application_loads_the_django_wsgi_app() -> None:
    from config.wsgi import application

    app = VerityApplication(gunicorn_options(host="127.0.0.1", port=8000, workers=1, threads=1))
    assert app.load() is application


def _serve(*args: str) -> tuple[dict[str, Any], list[tuple]]:
    captured: dict[str, Any] = {}
    commands: list[tuple] = []

    def fake_run(self: VerityApplication) -> None:
        captured.update(self.options)
        captured["_cfg"] = self.cfg

    def fake_call_command(*cargs: Any, **kwargs: Any) -> None:
        commands.append(cargs)

    with (
        mock.patch.object(VerityApplication, "run", fake_run),
        mock.patch.object(serve, "call_command", fake_call_command),
    ):
        call_command("serve", *args, stdout=StringIO())
    return captured, commands


def test_serve_command_passes_host_port_workers_threads_to_gunicorn() -> None:
    options, commands = _serve(
        "--host", "0.0.0.0", "--port", "8123", "--workers", "3", "--threads", "8"
    )
    assert options["bind"] == ["0.0.0.0:8123"]
    assert options["workers"] == 3 and options["threads"] == 8
    assert options["_cfg"].worker_class_str == "gthread"
    assert options["accesslog"] is None
    assert commands == [("collectstatic",)]


def test_serve_defaults_use_two_workers_on_two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VERITY_WEB_WORKERS", raising=False)
    monkeypatch.delenv("VERITY_WEB_THREADS", raising=False)
    monkeypatch.setattr(serve.os, "cpu_count", lambda: 2)
    options, _ = _serve()
    assert options["bind"] == ["127.0.0.1:8000"]
    assert (options["workers"], options["threads"]) == (2, 4)


def test_serve_reads_worker_counts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERITY_WEB_WORKERS", "5")
    monkeypatch.setenv("VERITY_WEB_THREADS", "2")
    options, _ = _serve("--access-log", "--no-collectstatic")
    assert (options["workers"], options["threads"]) == (5, 2)
    assert options["accesslog"] == "-"


def test_serve_skips_collectstatic_when_asked() -> None:
    _, commands = _serve("--no-collectstatic")
    assert commands == []


def test_serve_refuses_zero_workers() -> None:
    with pytest.raises(CommandError):
        _serve("--workers", "0", "--no-collectstatic")
