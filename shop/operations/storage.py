"""Where uploaded images are kept: the media folder, or S3-compatible storage."""
from flask import Flask


def register(app: Flask) -> None:
    """Bind the storage SHOP_STORAGE_URL names to the app."""
