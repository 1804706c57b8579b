import gc
import os

# Web processes score with small NumPy products (ml.serving): one BLAS thread each is far
# faster than threads fighting over the cores the other workers need.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "entertainment.settings")
application = get_wsgi_application()

# The URLconf, and with it every view module, loaded now rather than by the first request; then
# everything loaded so far is kept out of the garbage collector's sight: it lives as long as
# the process, and a full collection walking its ~130k objects took 77 ms, in the middle of
# whichever request triggered it (the p99 of a list computed on a read).
get_resolver().url_patterns  # noqa: B018 (the property imports the URLconf)
gc.freeze()
