"""`manage.py train`: what `make demo` and operators use to start training."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from recommender.models import ModelVersion, TrainingRun

pytestmark = pytest.mark.django_db


def test_queues_one_run_per_kind(monkeypatch, capsys):
    call_command("train", "sequence", "artwork")
    assert set(TrainingRun.objects.values_list("kind", flat=True)) == {"sequence", "artwork"}
    assert "sequence: run" in capsys.readouterr().out


def test_if_untrained_skips_kinds_with_an_active_version():
    ModelVersion.objects.create(kind="sentiment", status="active", path="/x", main_metric="roc_auc")
    call_command("train", "--if-untrained", "--trigger", "demo")
    runs = TrainingRun.objects.all()
    assert {r.kind for r in runs} == {"sequence", "artwork"}
    assert {r.trigger for r in runs} == {"demo"}


def test_unknown_kind_is_refused():
    with pytest.raises(CommandError, match="unknown model kinds"):
        call_command("train", "poetry")
    assert not TrainingRun.objects.exists()
