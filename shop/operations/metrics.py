"""Prometheus metrics at /metrics, aggregated across gunicorn's workers."""
from flask import Flask


def register(app: Flask) -> None:
    """Count requests and serve /metrics when SHOP_METRICS_TOKEN is set."""
