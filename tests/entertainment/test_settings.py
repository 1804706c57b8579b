"""The settings module: typed environment parsing and secure production defaults."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from entertainment.env import env_bool, env_int, env_list

ROOT = Path(__file__).resolve().parents[2]


def _run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    clean.pop("SECURE_SSL_REDIRECT", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("raw", ["maybe", "2", "yess"])
def test_bad_boolean_is_rejected(monkeypatch, raw):
    monkeypatch.setenv("SOME_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG"):
        env_bool("SOME_FLAG", False)


def test_bad_integer_and_minimum_are_rejected(monkeypatch):
    monkeypatch.setenv("WORKERS", "many")
    with pytest.raises(ImproperlyConfigured, match="WORKERS"):
        env_int("WORKERS", 1)
    monkeypatch.setenv("WORKERS", "-3")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("WORKERS", 1, minimum=1)


def test_list_parsing(monkeypatch):
    monkeypatch.setenv("HOSTS", "a.example, b.example")
    assert env_list("HOSTS") == ["a.example", "b.example"]
    monkeypatch.setenv("HOSTS", "a.example,,b")
    with pytest.raises(ImproperlyConfigured):
        env_list("HOSTS")


def test_missing_secret_key_refuses_to_start():
    result = _run_manage("check")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_bad_database_url_is_rejected():
    result = _run_manage("check", SECRET_KEY="x" * 60, DATABASE_URL="nonsense://")
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_production_defaults_pass_deploy_check():
    result = _run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="k3Jx9-vQ2_mZrT8wLp4NcYb7HsUe1RaGdFo6KiVj0XnBqW5tMy",
        ALLOWED_HOSTS="encore.example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_debug_is_off_by_default(settings):
    from django.conf import settings as live

    assert live.DEBUG is False
    assert live.SESSION_COOKIE_HTTPONLY
