"""GET /health: liveness for load balancers and `make run`; no auth, no data access."""

from storeloop.api import lambda_handler_for, make_app

app = make_app()


@app.get("/health", summary="Liveness check", tags=["ops"])
def health() -> dict:
    return {"status": "ok"}


lambda_handler = lambda_handler_for(app)
