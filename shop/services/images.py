"""Stored pictures: the files behind product images, category pictures and brand logos.

An upload is stored under a key the shop chooses (never the uploaded file's name), as
renditions named <key>-<rendition>.<format> in the media folder.
"""
import contextlib
import os

from flask import current_app

# Rendition name -> the longest side in pixels.
RENDITIONS = {"thumb": 160, "card": 480, "full": 1200}
FORMATS = ("webp", "jpg")


def rendition_name(key: str, rendition: str, fmt: str) -> str:
    """Return a rendition's file name inside the media folder."""
    return f"{key}-{rendition}.{fmt}"


def delete_files(keys) -> None:
    """Delete every rendition of the given keys; call it after the transaction that dropped their rows commits."""
    folder = current_app.config["MEDIA_PATH"]
    for key in keys:
        if not key:
            continue
        for rendition in RENDITIONS:
            for fmt in FORMATS:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(os.path.join(folder, rendition_name(key, rendition, fmt)))
