"""PNG charts of the benchmarks: throughput bars (events/s at the median run) and latency bars (p50/p95/p99).
They need the ``bench`` extra (matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .common import LatencyRow, Row


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)


def plot_rows(rows: list[Row], title: str, path: Path) -> None:
    """Horizontal bars, log scale, one per (backend, stage); ceilings in grey."""
    plt = _pyplot()
    labels = [f"{r.backend}: {r.stage}" for r in rows]
    rates = [r.rate for r in rows]
    colors = ["#999999" if "ceiling" in r.stage else "#1f77b4" if "postgres" in r.backend else "#ff7f0e" for r in rows]
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(rows) + 1.2))
    ax.barh(labels[::-1], rates[::-1], color=colors[::-1])
    ax.set_xscale("log")
    ax.set_xlabel("events/s (median run, log scale); grey = ceiling measured in the same run")
    ax.set_title(title)
    for y, rate in enumerate(rates[::-1]):
        ax.text(rate, y, f" {rate:,.0f}", va="center", fontsize=8)
    _save(fig, path)


def plot_latency(rows: list[LatencyRow], title: str, path: Path) -> None:
    """Grouped horizontal bars of p50, p95 and p99 (ms, log scale), one group per (backend, stage)."""
    plt = _pyplot()
    labels = [f"{r.backend}: {r.stage}"[:70] for r in rows][::-1]
    fig, ax = plt.subplots(figsize=(10, 0.6 * len(rows) + 1.2))
    height = 0.27
    for i, (q, color) in enumerate(((50, "#1f77b4"), (95, "#ff7f0e"), (99, "#d62728"))):
        values = [r.ms(q) for r in rows][::-1]
        ys = [y + (i - 1) * height for y in range(len(rows))]
        ax.barh(ys, values, height=height, color=color, label=f"p{q}")
        for y, value in zip(ys, values, strict=True):
            ax.text(value, y, f" {value:,.1f}", va="center", fontsize=7)
    ax.set_yticks(range(len(rows)), labels)
    ax.set_xscale("log")
    ax.set_xlabel("milliseconds (log scale)")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _save(fig, path)
