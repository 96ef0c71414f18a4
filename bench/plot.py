"""A PNG bar chart of a benchmark's rows (events/s at the median run, per backend and stage)."""

from __future__ import annotations

from pathlib import Path

from .common import Row


def plot_rows(rows: list[Row], title: str, path: Path) -> None:
    """Horizontal bars, log scale, one per (backend, stage); needs the ``bench`` extra (matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r.backend}: {r.stage}" for r in rows]
    rates = [r.rate for r in rows]
    colors = ["#999999" if "ceiling" in r.stage else "#1f77b4" if r.backend == "postgres" else "#ff7f0e" for r in rows]
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(rows) + 1.2))
    ax.barh(labels[::-1], rates[::-1], color=colors[::-1])
    ax.set_xscale("log")
    ax.set_xlabel("events/s (median run, log scale); grey = ceiling measured in the same run")
    ax.set_title(title)
    for y, rate in enumerate(rates[::-1]):
        ax.text(rate, y, f" {rate:,.0f}", va="center", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
