"""gunicorn settings for the connector platform: `gunicorn -c gunicorn.conf.py "core.app:create_app()"`."""
import multiprocessing
import os

# GUNICORN_BIND wins; else every interface on $PORT (what Render and most hosts set); else 8000.
bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT') or 8000}"
# One process per core runs the Python (a process uses one core at a time); a few threads each
# cover the waits on providers and the database. More processes or threads than that only add
# contention for the CPUs and the GIL: see docs/performance.md, "Agent tools API throughput".
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = 60
accesslog = "-"
# Path only (%(U)s), never the query string: OAuth callbacks carry codes and states there.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
# Same lines as gunicorn's logger, without building every header and environ atom per request.
logger_class = "core.accesslog.AccessLogger"
