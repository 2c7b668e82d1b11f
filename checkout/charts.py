"""Charts of the staff sales page, drawn on the server as SVG: no script, nothing
fetched, so the page keeps the admin's Content-Security-Policy and prints as it shows.

This module only computes geometry (frozen dataclasses of numbers and labels); the
template `admin/checkout/sales.html` turns them into `<rect>`, `<line>` and `<text>`.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from checkout.reports import DayFigures
from checkout.revenue import RevenuePart
from theme.templatetags.shop import money

WIDTH, HEIGHT = 960, 300
LEFT, RIGHT, TOP, BOTTOM = 78, 12, 12, 34
MAX_X_LABELS = 10


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str  # css class suffix: items, shipping, tax, discount, refunds
    title: str


@dataclass(frozen=True)
class Tick:
    y: float
    label: str
    zero: bool


@dataclass(frozen=True)
class XLabel:
    x: float
    label: str


@dataclass(frozen=True)
class Series:
    key: str
    label: str


@dataclass(frozen=True)
class DailyChart:
    width: int
    height: int
    left: float
    right: float  # x of the plot's right edge
    top: float
    bottom: float  # y of the plot's bottom edge
    bars: list[Bar]
    ticks: list[Tick]
    x_labels: list[XLabel]
    legend: list[Series]
    net_points: str  # an SVG polyline's points; empty when net equals the bars' tops
    zero_y: float


def nice_step(span: float, ticks: int = 4) -> int:
    """A round step (1, 2 or 5 times a power of ten, at least 1) that cuts `span` into
    about `ticks` parts."""
    if span <= 0:
        return 1
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return max(1, int(factor * power))
    return max(1, int(10 * power))


def money_label(amount: int, currency: str) -> str:
    """money() without ".00" on whole amounts, for axis labels."""
    text = money(amount, currency)
    return text.removesuffix(".00") if ".00" in text else text


def _day_label(day: date) -> str:
    return f"{day.day} {day:%b}"


def daily_revenue_chart(
    *, days: Sequence[DayFigures], parts: Sequence[RevenuePart], currency: str
) -> DailyChart:
    """Sales of each day as bars above the axis (stacked: items, then shipping and tax
    once orders record them), refunds (and discounts) below it, and the net as a line
    when anything is below."""
    up = [Series("items", "Items")] + [Series(p.key, p.label) for p in parts if p.sign > 0]
    down = [Series(p.key, p.label) for p in parts if p.sign < 0] + [Series("refunds", "Refunds")]

    def values(day: DayFigures, series: Series) -> int:
        return day.refunded if series.key == "refunds" else day.parts.get(series.key, 0)

    highest = max((sum(values(d, s) for s in up) for d in days), default=0)
    lowest = max((sum(values(d, s) for s in down) for d in days), default=0)
    if highest <= 0 and lowest <= 0:
        highest = 10_000  # an empty chart still shows a scale
    step = nice_step(highest + lowest)
    top_value = math.ceil(highest / step) * step if highest > 0 else 0
    bottom_value = -math.ceil(lowest / step) * step if lowest > 0 else 0
    if top_value == bottom_value:
        top_value = step

    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM
    plot_height = bottom - TOP

    def y_of(value: float) -> float:
        return round(TOP + (top_value - value) / (top_value - bottom_value) * plot_height, 2)

    zero_y = y_of(0)
    slot = (right - LEFT) / max(len(days), 1)
    bar_width = round(max(slot * 0.72, 1.0), 2)
    bars: list[Bar] = []
    net_points = []
    for i, day in enumerate(days):
        x = round(LEFT + i * slot + (slot - bar_width) / 2, 2)
        label = _day_label(day.day)
        level = 0
        for series in up:
            value = values(day, series)
            if value > 0:
                title = f"{label}: {series.label.lower()} {money(value, currency)}"
                if series.key == "items":
                    title += f" ({day.orders_paid} order{'s' if day.orders_paid != 1 else ''})"
                bars.append(
                    Bar(
                        x,
                        y_of(level + value),
                        bar_width,
                        y_of(level) - y_of(level + value),
                        series.key,
                        title,
                    )
                )
                level += value
        level = 0
        for series in down:
            value = values(day, series)
            if value > 0:
                title = f"{label}: {series.label.lower()} −{money(value, currency)}"
                if series.key == "refunds":
                    title += f" ({day.refunds} refund{'s' if day.refunds != 1 else ''})"
                bars.append(
                    Bar(
                        x,
                        y_of(level),
                        bar_width,
                        y_of(level - value) - y_of(level),
                        series.key,
                        title,
                    )
                )
                level -= value
        net = sum(values(day, s) for s in up) - sum(values(day, s) for s in down)
        net_points.append(f"{round(LEFT + (i + 0.5) * slot, 2)},{y_of(net)}")

    ticks = [
        Tick(y=y_of(value), label=money_label(value, currency), zero=value == 0)
        for value in range(int(bottom_value), int(top_value) + 1, step)
    ]
    every = max(1, math.ceil(len(days) / MAX_X_LABELS))
    x_labels = [
        XLabel(x=round(LEFT + (i + 0.5) * slot, 2), label=_day_label(day.day))
        for i, day in enumerate(days)
        if i % every == 0
    ]
    # Parts that are nothing all period long stay out of the legend (items always shows).
    shown_up = [s for s in up if s.key == "items" or any(values(d, s) for d in days)]
    shown_down = [s for s in down if any(values(d, s) for d in days)]
    return DailyChart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=right,
        top=TOP,
        bottom=bottom,
        bars=bars,
        ticks=ticks,
        x_labels=x_labels,
        legend=[*shown_up, *shown_down],
        net_points=" ".join(net_points) if shown_down else "",
        zero_y=zero_y,
    )


def shares(values: Sequence[int]) -> list[float]:
    """Each value as a percentage of the largest (for horizontal bars); 0 when all are 0."""
    largest = max(values, default=0)
    return [round(100 * v / largest, 1) if largest else 0.0 for v in values]
