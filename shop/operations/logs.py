"""Request ids and one structured log line per request."""
from flask import Flask


def register(app: Flask) -> None:
    """Give every request an id and log it when it ends."""
