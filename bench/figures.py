"""The bench's figures: the median of a figure over runs, and Mindwire's ratios to Node."""

from __future__ import annotations

import statistics
from typing import Any

Results = dict[tuple[str, str], list[dict[str, Any]]]
"""Every run's figures, by (scenario name, server label)."""


def median_of(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [run[key] for run in runs if run.get(key) is not None]
    return statistics.median(values) if values else None


def ratios_to_node(
    results: Results, scenario: Any, servers: list[Any], keys: list[tuple[str, str]]
) -> list[str]:
    """A line per Mindwire configuration: its median of each `(key, name)` ÷ Node's."""
    out = []
    for server in servers:
        if server.kind != "mindwire":
            continue
        parts = []
        for key, name in keys:
            mine = median_of(results.get((scenario.name, server.label), []), key)
            node = median_of(results.get((scenario.name, "node"), []), key)
            if mine is not None and node:
                parts.append(f"{name} Mindwire/Node {mine / node:.2f}")
        if parts:
            out.append(f"{scenario.name} [{server.label}]: " + ", ".join(parts))
    return out
