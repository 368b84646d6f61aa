"""Plotly figures as plain dictionaries; the page's script draws them (static/workspace.js).

Built as dicts rather than with plotly.graph_objects: the server only describes the data, and
skipping the object layer's validation keeps page renders fast.
"""

from __future__ import annotations

from collections.abc import Sequence

PALETTE = ["#8a1c1c", "#1f6f8b", "#c17d11", "#4b7f52", "#6d4c7d", "#7a7a7a"]


def lines(x: Sequence, series: dict[str, Sequence], y_title: str = "") -> dict:
    """One line per series over a shared x axis."""
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": list(x),
            "y": list(y),
            "line": {"color": PALETTE[i % len(PALETTE)]},
        }
        for i, (name, y) in enumerate(series.items())
    ]
    return {
        "data": data,
        "layout": {
            "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
            "legend": {"orientation": "h"},
        },
    }


def bars(
    x: Sequence, series: dict[str, Sequence], stacked: bool = False, y_title: str = ""
) -> dict:
    """Grouped (or stacked) bars, one colour per series."""
    data = [
        {
            "type": "bar",
            "name": name,
            "x": list(x),
            "y": list(y),
            "marker": {"color": PALETTE[i % len(PALETTE)]},
        }
        for i, (name, y) in enumerate(series.items())
    ]
    layout = {
        "barmode": "stack" if stacked else "group",
        "legend": {"orientation": "h"},
        "yaxis": {"title": {"text": y_title}},
    }
    return {"data": data, "layout": layout}


def flow(
    labels: Sequence[str], sources: Sequence[int], targets: Sequence[int], values: Sequence[int]
) -> dict:
    """A Sankey diagram: flows between labelled nodes (e.g. last month's stage to this one's)."""
    node = {
        "label": list(labels),
        "pad": 14,
        "thickness": 14,
        "color": [PALETTE[i % len(PALETTE)] for i in range(len(labels))],
    }
    link = {"source": list(sources), "target": list(targets), "value": list(values)}
    return {"data": [{"type": "sankey", "node": node, "link": link}], "layout": {"height": 380}}
