"""gunicorn settings for the connector platform: `gunicorn -c gunicorn.conf.py "core.app:create_app()"`."""
import multiprocessing
import os
import tempfile
from pathlib import Path

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



def on_starting(server):
    """prometheus-client's multiprocess mode: the workers (forked after this) write their metrics
    to files in one folder and GET /metrics adds them up. A fresh folder per start unless
    ``PROMETHEUS_MULTIPROC_DIR`` names one, emptied of a previous run's files."""
    folder = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="connectors-metrics-"))
    for stale in Path(folder).glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    """Drop a dead worker's live gauges (its counters stay summed, as Prometheus expects)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
