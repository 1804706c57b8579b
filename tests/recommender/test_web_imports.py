"""A web process serves recommendations without loading TensorFlow or Keras: every module
behind the site's URLs, and the serving model ranking a list, in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT
from tests.recommender.serving_model import write_model

SCRIPT = """
import sys
import django
django.setup()
from django.urls import get_resolver
get_resolver().url_patterns  # imports every view module the site routes to
import entertainment.wsgi
from recommender import api, lists, personal, realtime, receivers, serving, shelves, similarity
from recommender.templatetags import recommendations
from ml.ranking import Ranker
found = Ranker.load(sys.argv[1]).recommend(["1"], 2)
assert found[0].item == "2", found
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
print("LOADED", loaded)
"""


def test_serving_a_list_loads_no_tensorflow(tmp_path):
    # Written here: writing a model records the library versions, Keras's among them.
    write_model(tmp_path / "model", [1, 2, 3, 4], {1: 2})
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "entertainment.settings"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "model")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "LOADED []" in done.stdout, done.stdout
