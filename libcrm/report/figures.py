"""The report's figures: small matplotlib charts saved as PNG files beside the page."""

from __future__ import annotations

from pathlib import Path


def plot(path: Path, title: str, draw) -> str:
    """Draw a small figure with ``draw(axis)`` and save it as PNG; return its file name."""
    import matplotlib  # imported when drawing: matplotlib takes a second to import

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3))
    draw(axis)
    axis.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path.name


def bar(path: Path, labels, values, title: str, xlabel: str = "") -> str:
    def draw(axis):
        axis.barh(list(labels)[::-1], list(values)[::-1], color="#3b6ea8")
        axis.set_xlabel(xlabel)

    return plot(path, title, draw)


def lines(path: Path, series: dict[str, tuple[list, list]], title: str, ylabel: str) -> str:
    def draw(axis):
        for name, (xs, ys) in series.items():
            axis.plot(xs, ys, marker="o", label=name)
        axis.set_ylabel(ylabel)
        axis.legend()
        axis.figure.autofmt_xdate()

    return plot(path, title, draw)
