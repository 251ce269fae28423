"""The sales report: a date range's revenue per day as a chart and table, its best sellers and its money, as CSV too."""
from flask import Response, current_app, render_template, request

from shop.admin import bp, listing
from shop.core.errors import render_error
from shop.models.base import now_utc
from shop.services import ShopError, reports
from shop.services.reports import RANKINGS, TABLES

PRESETS = (7, 30, 90, 365)


@bp.get("/reports", endpoint="reports")
def reports_page():
    """Show the report for ?from=&to= (UTC days, the last 30 by default), or one of its tables as CSV."""
    today = now_utc().date()
    typed = {"from": request.args.get("from", "", type=str)[:20], "to": request.args.get("to", "", type=str)[:20]}
    ranking = listing.choice("rank", RANKINGS, "revenue")
    try:
        chosen, problem = reports.parse_range(typed["from"], typed["to"], today), None
    except ShopError as refusal:
        chosen, problem = reports.default_range(today), str(refusal)
    currency = current_app.config["CURRENCY"]
    if request.args.get("format") == "csv":
        table = request.args.get("table", "", type=str)
        if problem or table not in TABLES:
            return render_error(400, problem or f"Choose a table to download: {', '.join(TABLES)}.")
        response = Response(reports.csv_text(table, chosen, ranking, currency), mimetype="text/csv")
        response.headers["Content-Disposition"] = f"attachment; filename={reports.csv_filename(table, chosen)}"
        return response
    report = reports.sales_report(chosen, ranking)
    presets = [(days, reports.default_range(today, days)) for days in PRESETS]
    return render_template("admin/reports.html", report=report, chart=reports.revenue_chart(report.days, currency),
                           problem=problem, typed=typed if problem else chosen.query_args(), rankings=RANKINGS,
                           presets=presets, tables=TABLES, max_days=reports.MAX_DAYS)
