"""The hub's state in business terms: what came in, what was set up, what was refused."""

from __future__ import annotations

import statistics
from typing import Any

import sqlalchemy as sa

from interlock.store import journal, runs
from interlock.store.schema import as_dict, flow_runs, flow_steps


def percentile(values: list[float], share: float) -> float | None:
    """The ``share`` percentile (0..1) by nearest rank, or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[rank]


def cycle_times(conn: sa.Connection, flow: str = "mobilize") -> list[float]:
    """Set-up cycle times (seconds, won → ready) of succeeded runs."""
    rows = conn.execute(
        sa.select(flow_runs.c.metrics).where(
            flow_runs.c.flow == flow, flow_runs.c.status == runs.RunStatus.SUCCEEDED
        )
    )
    return [float(m["cycle_seconds"]) for (m,) in rows if m and "cycle_seconds" in m]


def rejections(conn: sa.Connection, limit: int = 100) -> list[dict[str, Any]]:
    """Rejected and failed runs with their reasons, newest first."""
    rows = conn.execute(
        sa.select(
            flow_runs.c.id,
            flow_runs.c.flow,
            flow_runs.c.business_key,
            flow_runs.c.status,
            flow_runs.c.error,
        )
        .where(flow_runs.c.status.in_([runs.RunStatus.REJECTED, runs.RunStatus.FAILED]))
        .order_by(flow_runs.c.updated_at.desc())
        .limit(limit)
    )
    return [as_dict(r) for r in rows]


def summary(conn: sa.Connection) -> dict[str, Any]:
    """Counts and KPIs for the status endpoint and the demo."""
    times = cycle_times(conn)
    mobilized = conn.execute(
        sa.select(sa.func.count()).select_from(flow_steps).where(flow_steps.c.name == "ready")
    ).scalar_one()
    return {
        "journal": journal.counts(conn),
        "runs": runs.counts(conn),
        "projects_mobilized": int(mobilized),
        "cycle_time_seconds": {
            "count": len(times),
            "p50": percentile(times, 0.5),
            "p95": percentile(times, 0.95),
            "mean": statistics.fmean(times) if times else None,
        },
        "rejections": [
            {
                "run": r["id"],
                "flow": r["flow"],
                "key": r["business_key"],
                "status": r["status"],
                "reason": (r["error"] or {}).get("reason"),
                "problems": (r["error"] or {}).get("problems", []),
                "team": (r["error"] or {}).get("team"),
            }
            for r in rejections(conn, limit=20)
        ],
    }


def run_detail(conn: sa.Connection, run_id: str) -> dict[str, Any] | None:
    """One run with its steps, or None."""
    row = conn.execute(sa.select(flow_runs).where(flow_runs.c.id == run_id)).first()
    if row is None:
        return None
    detail = as_dict(row)
    detail["steps"] = [
        {
            "name": s.name,
            "seq": s.seq,
            "status": s.status,
            "attempts": s.attempts,
            "output": s.output,
        }
        for s in runs.steps(conn, run_id).values()
    ]
    return detail
