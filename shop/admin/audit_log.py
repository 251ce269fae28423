"""The audit log page: every admin change, newest first, filtered by person, object type and dates; read only."""
from flask import render_template, request

from shop.admin import bp, listing
from shop.services import audit_log as records
from shop.services.audit_log import AuditFilters
from shop.services.order_search import day_range

RECORDS_PER_PAGE = 50


def _filters() -> AuditFilters:
    """Read the filters from the query string; junk is ignored, a range typed backwards means the same days."""
    since, until = day_range(request.args.get("from", "", type=str), request.args.get("to", "", type=str))
    return AuditFilters(person=request.args.get("person", "", type=str).replace("\x00", "").strip()[:listing.MAX_TERM],
                        object_type=records.valid_object_type(request.args.get("type", "", type=str)),
                        since=since, until=until)


@bp.get("/audit")
def audit_log():
    """List audit records newest first: who did what to which object, with its before and after, and when."""
    filters = _filters()
    page = records.audit_entries(filters, listing.page(), RECORDS_PER_PAGE)
    types = records.object_types()
    if filters.object_type and filters.object_type not in types:
        types[filters.object_type] = filters.object_type.replace("_", " ").capitalize()
    return render_template("admin/audit_log.html", page=page, filters=filters,
                           object_types={"": "Any object", **types}, admin_emails=records.admin_emails())
