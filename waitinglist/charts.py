"""Small line charts drawn on the server as SVG: no JavaScript, and every chart has its
figures in a table beside it (templates/waitinglist/workspace/chart.html)."""

from dataclasses import dataclass
from datetime import date

WIDTH, HEIGHT, MARGIN = 600, 220, 48
# NHS.UK colours; the second line is also dashed, so colour is never the only difference.
STYLES = [("#005eb8", ""), ("#d5281b", "8 5"), ("#007f3b", "2 4")]


@dataclass
class Line:
    label: str
    points: str  # SVG polyline points
    colour: str
    dash: str


@dataclass
class LineChart:
    """Lines over weeks, from 0 at the bottom to `top` at the top."""

    slug: str
    title: str
    unit: str
    lines: list[Line]
    top: float
    first: date
    last: date
    rows: list[tuple[date, list]]  # the figures, week by week, for the table

    @property
    def labels(self) -> list[str]:
        return [line.label for line in self.lines]


def line_chart(
    slug: str, title: str, unit: str, weeks: list[date], series: dict[str, list]
) -> LineChart | None:
    """A chart of each named series (one value or None a week); None with under two weeks."""
    if len(weeks) < 2:
        return None
    values = [v for column in series.values() for v in column if v is not None]
    top = max(values, default=0) or 1
    first, last = weeks[0], weeks[-1]
    span = max((last - first).days, 1)
    inner_w, inner_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN

    def point(week: date, value: float) -> str:
        x = MARGIN + inner_w * (week - first).days / span
        y = MARGIN + inner_h * (1 - value / top)
        return f"{x:.1f},{y:.1f}"

    def points(column: list) -> str:
        return " ".join(point(w, v) for w, v in zip(weeks, column, strict=True) if v is not None)

    lines = [
        Line(
            label=label,
            points=points(column),
            colour=STYLES[i % len(STYLES)][0],
            dash=STYLES[i % len(STYLES)][1],
        )
        for i, (label, column) in enumerate(series.items())
    ]
    rows = [(week, [column[i] for column in series.values()]) for i, week in enumerate(weeks)]
    return LineChart(slug, title, unit, lines, top, first, last, rows)
