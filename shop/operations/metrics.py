"""Prometheus metrics at /metrics, aggregated across gunicorn's workers."""
from flask import Flask


def register(app: Flask) -> None:
    """Count requests and serve /metrics when SHOP_METRICS_TOKEN is set."""


def prepare_multiprocess_dir() -> None:
    """Point prometheus_client at a fresh folder shared by gunicorn's workers (before the app is imported)."""


def worker_exited(pid: int) -> None:
    """Forget the live gauges of a gunicorn worker that has exited."""
