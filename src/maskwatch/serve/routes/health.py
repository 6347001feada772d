"""Liveness and readiness probes (no token: orchestrators call them without credentials)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from maskwatch.serve.errors import error_response

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: every worker has its models loaded",
    responses={503: {"description": "models still loading or failed to load"}},
)
async def readyz(request: Request) -> JSONResponse:
    runtime = request.app.state.runtime
    if runtime.ready:
        pool = runtime.pool
        return JSONResponse({"status": "ready", "workers": pool.workers, "in_flight": pool.in_flight})
    if runtime.load_error:
        return error_response(503, "model_load_failed", f"the models failed to load: {runtime.load_error}")
    return error_response(503, "not_ready", "the models are still loading", headers={"Retry-After": "2"})


@router.get(
    "/metrics",
    summary="Prometheus metrics: requests, latency, faces by label, queue depth, busy refusals",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics(request: Request) -> Response:
    body, content_type = request.app.state.runtime.metrics.render()
    return Response(body, media_type=content_type)
