"""Analytics in the JSON API under /api/v1/analytics/: metric results (`api_metrics.py`)
and bulk imports (`api_imports.py`)."""

from __future__ import annotations

from ninja import Router

from verity.analytics.api_imports import router as imports_router
from verity.analytics.api_metrics import router as metrics_router

router = Router(tags=["analytics"])
router.add_router("", metrics_router)
router.add_router("", imports_router)
