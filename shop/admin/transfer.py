"""The Import/Export page: download the catalogue as CSV, upload one, preview what it changes, apply it."""
from flask import Response, current_app, flash, redirect, render_template, stream_with_context, url_for
from flask_login import current_user

from shop.admin import bp
from shop.admin.forms.transfer import ImportUploadForm
from shop.core.outcomes import flash_refusals, load_or_404
from shop.services.catalog_csv import (
    COLUMNS,
    MAX_PROBLEMS,
    apply_import,
    catalogue_size,
    discard_upload,
    export_chunks,
    export_filename,
    format_amount,
    preview_import,
    read_upload,
    store_upload,
)


def _transfer_page(form: ImportUploadForm, status: int = 200):
    currency = current_app.config["CURRENCY"]
    return render_template("admin/transfer.html", form=form, columns=COLUMNS, size=catalogue_size(),
                           currency=currency.upper(), example_price=format_amount(1990, currency)), status


@bp.get("/import-export")
def catalogue_transfer():
    """Show the export link, the import form and the file format."""
    return _transfer_page(ImportUploadForm())


@bp.get("/import-export/catalogue.csv")
def catalogue_export():
    """Stream the whole catalogue as a CSV download."""
    response = Response(stream_with_context(export_chunks()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename={export_filename()}"
    return response


@bp.post("/import-export/import")
def catalogue_import():
    """Keep the uploaded file and show what importing it would do."""
    form = ImportUploadForm()
    if not form.validate_on_submit():
        return _transfer_page(form, 422)
    token = store_upload(form.file.data.read())
    return redirect(url_for("admin.catalogue_import_preview", import_token=token))


@bp.get("/import-export/import/<import_token>")
def catalogue_import_preview(import_token: str):
    """Show the counts of what the import creates, updates and leaves alone, and every problem in the file."""
    plan = preview_import(load_or_404(read_upload, import_token))
    return render_template("admin/import_preview.html", plan=plan, token=import_token, max_problems=MAX_PROBLEMS)


@bp.post("/import-export/import/<import_token>")
def catalogue_import_apply(import_token: str):
    """Apply the previewed file in one transaction: all of it, or nothing when any row is wrong."""
    data = load_or_404(read_upload, import_token)
    with flash_refusals():
        plan = apply_import(data, current_user._get_current_object())
        discard_upload(import_token)
        flash(f"The import is done: {plan.summary()}" if plan.changes_anything
              else "The file matches the catalogue: nothing was changed.", "success")
        return redirect(url_for("admin.catalogue_transfer"))
    return redirect(url_for("admin.catalogue_import_preview", import_token=import_token))
