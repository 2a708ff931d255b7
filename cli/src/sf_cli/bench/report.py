"""`sf bench` as text: the figures as an aligned two-column table, then the costliest statements."""

from __future__ import annotations

from typing import Any

from sf_cli.render import safe_text


def bench_text(result: dict[str, Any]) -> str:
    scalars = {key: value for key, value in result.items() if not isinstance(value, list | dict)}
    peer = result.get("peer")
    if isinstance(peer, dict):
        scalars["peer_jobs_per_s"] = peer.get("jobs_per_s")
    width = max(len(key) for key in scalars)
    lines = [f"{key:<{width}}  {'-' if value is None else value}" for key, value in scalars.items()]
    statements = result.get("top_statements")
    if statements:
        lines += ["", f"{'total ms':>10} {'calls':>8} {'rows':>9}  top statements (pg_stat_statements)"]
        lines += [
            f"{s['total_ms']:>10} {s['calls']:>8} {s['rows']:>9}  {safe_text(s['query'], 120)}"
            for s in statements
        ]
    return "\n".join(lines)
