"""Server-rendered SVG bar charts, each with the table it is drawn from."""

from collections.abc import Callable
from dataclasses import dataclass, field

from metrics.selectors import Bucket, Metrics

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 200, 44, 24, 10


@dataclass(frozen=True)
class ChartSpec:
    key: str
    title: str
    unit: str
    explains: str
    value: Callable[[Bucket], float | int | None]


SPECS = (
    ChartSpec(
        "deployment-frequency",
        "Deployment frequency",
        "deployments",
        "Successful deployments recorded in the period.",
        lambda b: b.deployments,
    ),
    ChartSpec(
        "lead-time",
        "Lead time for changes",
        "hours",
        "Mean time from a release's earliest reported commit (else its creation) to its first "
        "deployment.",
        lambda b: b.lead_time_hours,
    ),
    ChartSpec(
        "change-failure-rate",
        "Change-failure rate",
        "%",
        "Finished deployments that failed, were rolled back or were followed by a hotfix.",
        lambda b: b.failure_rate,
    ),
    ChartSpec(
        "time-to-restore",
        "Time to restore",
        "hours",
        "Mean time from a failed or rolled-back deployment, or a halt, to the product's next "
        "successful deployment.",
        lambda b: b.restore_hours,
    ),
    ChartSpec(
        "approval-lead-time",
        "Approval lead time",
        "hours",
        "Mean time from submission to approval.",
        lambda b: b.approval_hours,
    ),
    ChartSpec(
        "rejections",
        "Rejections",
        "sign-offs",
        "Sign-offs that rejected a release.",
        lambda b: b.rejections,
    ),
    ChartSpec(
        "unauthorized-changes",
        "Unauthorized changes",
        "deployments",
        "Deployments the deploy check would have refused when they were recorded.",
        lambda b: b.unauthorized,
    ),
)
SPEC_BY_KEY = {spec.key: spec for spec in SPECS}


@dataclass
class Bar:
    label: str
    value: float | int | None
    x: float
    y: float
    width: float
    height: float


@dataclass
class Chart:
    spec: ChartSpec
    rows: list[tuple[str, float | int | None]]
    bars: list[Bar] = field(default_factory=list)
    top: float = 0
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: int = HEIGHT - BOTTOM

    @property
    def summary(self) -> str:
        values = [v for _, v in self.rows if v is not None]
        if not values:
            return f"{self.spec.title}: no data in this range."
        high = max(self.rows, key=lambda row: row[1] if row[1] is not None else float("-inf"))
        return (
            f"{self.spec.title} in {self.spec.unit} per period, {len(self.rows)} periods; "
            f"highest {high[1]} ({high[0]})."
        )


def bucket_label(bucket: Bucket, period: str) -> str:
    return bucket.start.strftime("%b %Y") if period == "month" else f"w/c {bucket.start:%d %b %Y}"


def chart_build(spec: ChartSpec, metrics: Metrics) -> Chart:
    rows = [(bucket_label(b, metrics.period), spec.value(b)) for b in metrics.buckets]
    chart = Chart(spec=spec, rows=rows)
    top = max((v for _, v in rows if v is not None), default=0) or 1
    chart.top = top
    slot = (WIDTH - LEFT) / max(len(rows), 1)
    plot = chart.baseline - TOP
    for index, (label, value) in enumerate(rows):
        height = 0 if value is None else plot * value / top
        chart.bars.append(
            Bar(
                label=label,
                value=value,
                x=round(LEFT + index * slot + slot * 0.15, 1),
                y=round(chart.baseline - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
            )
        )
    return chart


def charts_build(metrics: Metrics) -> list[Chart]:
    return [chart_build(spec, metrics) for spec in SPECS]
