"""The report's charts as Vega-Lite specs, built with Altair (rendered in the page by vega-embed).

Why Vega-Lite: a chart is a small JSON spec with its data inline (tests can read what it
draws), vega-embed draws it as SVG in any browser with tooltips, and vl-convert ships
the whole vega-embed + Vega + Vega-Lite bundle (~0.9 MB) so the page inlines it and
opens offline. Plotly inlines ~4.6 MB of JavaScript per file; matplotlib draws static
SVG but brings numpy and no tooltips.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt

from syncd.engine.scorecard import Card
from syncd.engine.timeline import TimelinePoint

DISPLACED = "PARTNER_DISPLACED"
WIDTH = 430  # fits a chart and its legend in half of a 1280-pixel page
Spec = dict[str, Any]
COUNT_AXIS = alt.Axis(tickMinStep=1, format="d")  # counts: whole ticks only
LEGEND = alt.Legend(orient="bottom", labelLimit=0, columns=2)  # under the plot, never cut


def _spec(chart: alt.TopLevelMixin) -> Spec:
    return chart.to_dict(validate=True)  # type: ignore[no-any-return]


def violations_over_time(points: Sequence[TimelinePoint], weekly: bool) -> Spec | None:
    """Occurrences opened per day (week) by code, and how many stood open at its end."""
    opened = [
        {"day": p.day.isoformat(), "code": code, "opened": n}
        for p in points
        for code, n in p.opened.items()
    ]
    standing = [{"day": p.day.isoformat(), "open": p.open_at_end} for p in points]
    if not opened and not any(p.open_at_end for p in points):
        return None
    x = alt.X("day:O", title="week from" if weekly else "day", axis=alt.Axis(labelAngle=-45))
    bars = (
        alt.Chart(alt.Data(values=opened))
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y("sum(opened):Q", title="opened", axis=COUNT_AXIS),
            color=alt.Color("code:N", title="violation", legend=LEGEND),
            tooltip=["day:O", "code:N", "sum(opened):Q"],
        )
    )
    line = (
        alt.Chart(alt.Data(values=standing))
        .mark_line(point=True, color="#444")
        .encode(
            x=x,
            y=alt.Y("open:Q", title="open at the end", axis=COUNT_AXIS),
            tooltip=["day:O", "open:Q"],
        )
    )
    layered = alt.layer(bars, line).resolve_scale(y="independent")
    return _spec(layered.properties(width=WIDTH, height=220, title="Violations over time"))


def compliance_by_region(cards: Sequence[Card]) -> Spec | None:
    rows = [
        {"region": c.name, "compliance": round(100 * c.compliance_rate, 2), "deals": c.deals}
        for c in cards
        if c.compliance_rate is not None
    ]
    if not rows:
        return None
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar(color="#2e7d32")
        .encode(
            x=alt.X("compliance:Q", title="compliance %", scale=alt.Scale(domain=[0, 100])),
            y=alt.Y("region:N", sort="-x", title=None),
            tooltip=["region:N", "compliance:Q", "deals:Q"],
        )
    )
    return _spec(chart.properties(width=WIDTH, title="Compliance by region"))


def top_partners_displaced(cards: Sequence[Card], top: int = 10) -> Spec | None:
    """Partners by PARTNER_DISPLACED occurrences that stood in the period (open or resolved)."""
    counted = [(c, c.by_code.get(DISPLACED)) for c in cards]
    ranked = sorted(
        ((c, n) for c, n in counted if n is not None and n.open + n.resolved),
        key=lambda pair: (-(pair[1].open + pair[1].resolved), pair[0].name),
    )[:top]
    if not ranked:
        return None
    rows = [
        {"partner": c.name, "state": state, "occurrences": count,
         "remedies owed": float(c.remedies_owed_amount)}
        for c, n in ranked
        for state, count in (("still open", n.open), ("resolved", n.resolved))
        if count
    ]  # fmt: skip
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            x=alt.X("sum(occurrences):Q", title="PARTNER_DISPLACED occurrences", axis=COUNT_AXIS),
            y=alt.Y("partner:N", sort="-x", title=None),
            color=alt.Color(
                "state:N",
                scale=alt.Scale(domain=["still open", "resolved"], range=["#c62828", "#9e9e9e"]),
                legend=LEGEND,
                title=None,
            ),
            tooltip=["partner:N", "state:N", "sum(occurrences):Q", "remedies owed:Q"],
        )
    )
    return _spec(chart.properties(width=WIDTH, title="Top partners displaced"))


def bars(
    rows: Sequence[dict[str, Any]], x: str, y: str, title: str, color: str | None = None
) -> Spec | None:
    """Horizontal bars of counts, stacked by ``color`` when given (the what-if report's)."""
    if not rows:
        return None
    encoding: dict[str, Any] = {
        "x": alt.X(f"sum({x}):Q", title=x, axis=COUNT_AXIS),
        "y": alt.Y(f"{y}:N", sort="-x", title=None),
        "tooltip": [f"{y}:N", f"sum({x}):Q"],
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N", title=None, legend=LEGEND)
        encoding["tooltip"].insert(1, f"{color}:N")
    chart = alt.Chart(alt.Data(values=list(rows))).mark_bar(color="#1565c0").encode(**encoding)
    return _spec(chart.properties(width=WIDTH, title=title))
