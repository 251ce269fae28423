"""Gunicorn settings for `make run` and production: gunicorn --config gunicorn.conf.py."""
from shop.operations.metrics import prepare_multiprocess_dir

wsgi_app = "wsgi:app"

# Before the app (and prometheus_client) is imported, so every worker writes its metrics to one folder.
prepare_multiprocess_dir()


def on_starting(server) -> None:
    from shop.config import refuse_generated_secret_key

    refuse_generated_secret_key(server.cfg.workers)


def child_exit(server, worker) -> None:
    from shop.operations.metrics import worker_exited

    worker_exited(worker.pid)
