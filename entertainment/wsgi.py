import os

# Web processes score with small NumPy products (ml.serving): one BLAS thread each is far
# faster than threads fighting over the cores the other workers need.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "entertainment.settings")
application = get_wsgi_application()
