"""gunicorn settings for the connector platform: `gunicorn -c gunicorn.conf.py "core.app:create_app()"`."""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = 60
accesslog = "-"
# Path only (%(U)s), never the query string: OAuth callbacks carry codes and states there.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
