"""The page that asks before anything destructive, bulk or money-moving happens."""
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import render_template, request


@dataclass
class Confirmation:
    title: str  # "Delete 3 products?"
    question: str  # what will happen, in plain words
    action_url: str  # where the confirmed form posts (usually the same URL)
    button: str  # "Delete 3 products"
    cancel_url: str
    items: list[str] = field(default_factory=list)  # what it acts on, one line each
    fields: list[tuple[str, str]] = field(default_factory=list)  # hidden fields to post again
    danger: bool = True


def confirmed() -> bool:
    """Return whether this POST comes from the confirmation page (its form says confirmed=yes)."""
    return request.form.get("confirmed") == "yes"


def ask(confirmation: Confirmation, fields: Iterable[tuple[str, str]] = ()):
    """Render the confirmation page; the fields are posted again when the admin confirms."""
    confirmation.fields = [*confirmation.fields, *fields]
    return render_template("admin/confirm.html", confirm=confirmation)
