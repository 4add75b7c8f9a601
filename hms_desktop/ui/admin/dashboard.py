"""The Admin tab's dashboard: totals, appointments by status, and two charts.

The figures come from :class:`~hms_desktop.services.records.stats.StatsService` (a
``TTLCache``); the page says whether they are fresh or from the cache and how old
they are. QtCharts is imported only when the first figures arrive, so it never
slows the start-up.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QMargins, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.records.stats import DashboardStats, StatsResult, StatsService
from hms_desktop.services.scheduling.booking import STATUS_LABELS
from hms_desktop.ui.common.layout import heading
from hms_desktop.ui.common.operations import Operations, user_message

ACCENT = "#2563eb"
STATUS_COLOURS = {
    "booked": "#2563eb",
    "completed": "#16a34a",
    "cancelled": "#9ca3af",
    "no_show": "#dc2626",
}


def age_text(seconds: float) -> str:
    """ "12 s", "3 min", "2 h" — how old the figures are, for people."""
    if seconds < 60:
        return f"{int(seconds)} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    return f"{int(seconds // 3600)} h"


def freshness_text(from_cache: bool, age_seconds: float) -> str:
    """What the dashboard says about its figures: "Fresh, computed just now", "From cache, 2 min old"."""
    if from_cache:
        return f"From cache, {age_text(age_seconds)} old"
    if age_seconds < 5:
        return "Fresh, computed just now"
    return f"Fresh, computed {age_text(age_seconds)} ago"


def day_labels(days: list[Any], every: int = 5) -> list[str]:
    """ "15 Jun" on every ``every``-th day and the last, blanks between (all unique:
    a category axis drops repeated names, so blanks are zero-width spaces)."""
    labels: list[str] = []
    last = len(days) - 1
    for i, day in enumerate(days):
        shown = (last - i) % every == 0
        labels.append(f"{day.day} {day:%b}" if shown else "\u200b" * (i + 1))
    return labels


class StatCard(QFrame):
    """A big number with a caption and a small line under it."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.value = QLabel("–", self)
        self.value.setObjectName("cardValue")
        self.caption = QLabel(caption, self)
        self.caption.setObjectName("cardCaption")
        self.detail = QLabel("", self)
        self.detail.setObjectName("cardDetail")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(2)
        layout.addWidget(self.caption)
        layout.addWidget(self.value)
        layout.addWidget(self.detail)

    def set(self, value: int, detail: str = "") -> None:
        self.value.setText(f"{value:,}")
        self.detail.setText(detail)


class DashboardPage(QWidget):
    """Totals and charts for the front desk; :meth:`load` fetches them off the UI thread."""

    loaded = Signal(object)  # StatsResult

    def __init__(
        self,
        clinic: Clinic,
        actor: Actor,
        ops: Operations,
        stats: StatsService,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._clinic, self._actor, self._ops, self._stats = clinic, actor, ops, stats
        self._loading = False
        self._pending_refresh: bool | None = None
        self._result: StatsResult | None = None
        self._computed_at = 0.0
        self._charts: Any = None

        self.freshness = QLabel("Loading…", self)
        self.freshness.setObjectName("freshness")
        self.refresh_button = QPushButton("&Refresh", self)
        self.refresh_button.setToolTip("Compute the figures again (F5)")
        self.refresh_button.clicked.connect(lambda: self.load(refresh=True))
        top = QHBoxLayout()
        top.addWidget(heading("Dashboard", self))
        top.addStretch(1)
        top.addWidget(self.freshness)
        top.addSpacing(8)
        top.addWidget(self.refresh_button)

        self.doctors = StatCard("Doctors", self)
        self.patients = StatCard("Patients", self)
        self.appointments = StatCard("Appointments", self)
        self.today = StatCard("Today", self)
        cards = QHBoxLayout()
        cards.setSpacing(12)
        for card in (self.doctors, self.patients, self.appointments, self.today):
            cards.addWidget(card)

        self.status_cards = {key: StatCard(label, self) for key, label in STATUS_LABELS.items()}
        statuses = QHBoxLayout()
        statuses.setSpacing(12)
        for key, card in self.status_cards.items():
            card.value.setStyleSheet(f"color: {STATUS_COLOURS[key]};")
            statuses.addWidget(card)

        self.chart_area = QGridLayout()
        self.chart_area.setSpacing(12)
        self.chart_placeholder = QLabel("Charts appear when the figures are loaded.", self)
        self.chart_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.chart_area.addWidget(self.chart_placeholder, 0, 0)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.setSpacing(12)
        layout.addLayout(top)
        layout.addLayout(cards)
        layout.addLayout(statuses)
        layout.addLayout(self.chart_area, 1)

        self._age_timer = QTimer(self)
        self._age_timer.setInterval(15_000)
        self._age_timer.timeout.connect(self._update_freshness)

    @property
    def result(self) -> StatsResult | None:
        """The figures on screen, with how they were obtained."""
        return self._result

    def load(self, *, refresh: bool = False) -> None:
        """Fetch the figures (from the cache unless ``refresh``); one load at a time."""
        if self._loading:
            self._pending_refresh = bool(self._pending_refresh) or refresh
            return
        self._loading = True
        self.refresh_button.setEnabled(False)
        stats, actor = self._stats, self._actor
        self._ops.run(
            lambda _ctx: stats.dashboard(actor, refresh=refresh),
            label="Load the dashboard",
            on_success=self._on_loaded,
            on_failure=self._on_failed,
        )

    def _finish(self) -> None:
        self._loading = False
        self.refresh_button.setEnabled(True)
        if self._pending_refresh is not None:
            refresh, self._pending_refresh = self._pending_refresh, None
            self.load(refresh=refresh)

    @Slot(object)
    def _on_loaded(self, result: StatsResult) -> None:
        self._result = result
        self._computed_at = self._clinic.clock.monotonic() - result.age_seconds
        self._show(result.stats)
        self._update_freshness()
        self._age_timer.start()
        self._finish()
        self.loaded.emit(result)

    @Slot(object)
    def _on_failed(self, err: BaseException) -> None:
        self.freshness.setText(f"Could not load the figures: {user_message(err)}")
        self._finish()

    def _update_freshness(self) -> None:
        if self._result is None:
            return
        age = max(0.0, self._clinic.clock.monotonic() - self._computed_at)
        self.freshness.setText(freshness_text(self._result.from_cache, age))
        self.freshness.setToolTip(
            f"Figures are kept for {age_text(self._clinic.pc.cache_ttl_seconds)}; "
            "Refresh (F5) computes them again."
        )

    def _show(self, s: DashboardStats) -> None:
        self.doctors.set(s.doctors)
        self.patients.set(s.patients)
        self.appointments.set(s.appointments, "all time")
        booked_today = s.today_by_status.get("booked", 0)
        self.today.set(s.today_appointments, f"{booked_today} still booked · {s.today:%a %d %b}")
        total = max(1, s.appointments)
        for key, card in self.status_cards.items():
            n = s.by_status.get(key, 0)
            card.set(n, f"{100 * n / total:.0f}% of all")
        self._show_charts(s)

    def _show_charts(self, s: DashboardStats) -> None:
        if self._charts is None:
            self._charts = _Charts(self)
            self.chart_placeholder.hide()
            self.chart_area.addWidget(self._charts.per_day_view, 0, 0)
            self.chart_area.addWidget(self._charts.per_department_view, 0, 1)
            self.chart_area.setColumnStretch(0, 3)
            self.chart_area.setColumnStretch(1, 2)
        self._charts.update(s)


class _Charts:
    """The two charts; built on first use so QtCharts loads only when needed."""

    def __init__(self, parent: QWidget) -> None:
        from PySide6.QtCharts import QChartView  # heavy: imported on first use only

        self.per_day_view = QChartView(parent)
        self.per_department_view = QChartView(parent)
        for view in (self.per_day_view, self.per_department_view):
            view.setRenderHint(QPainter.RenderHint.Antialiasing)
            view.setMinimumHeight(240)
            view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            view.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    @staticmethod
    def _chart(title: str) -> Any:
        from PySide6.QtCharts import QChart

        chart = QChart()
        chart.setTitle(title)
        chart.legend().hide()
        chart.setMargins(QMargins(6, 6, 6, 6))
        chart.setBackgroundRoundness(6)
        chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        return chart

    def update(self, s: DashboardStats) -> None:
        from PySide6.QtCharts import (
            QBarCategoryAxis,
            QBarSeries,
            QBarSet,
            QHorizontalBarSeries,
            QValueAxis,
        )

        days = self._chart("Appointments per day, last 30 days")
        bars = QBarSet("Appointments")
        bars.setColor(QColor(ACCENT))
        bars.setBorderColor(QColor(ACCENT))
        bars.append([float(n) for _, n in s.per_day])
        series = QBarSeries()
        series.setBarWidth(0.8)
        series.append(bars)
        days.addSeries(series)
        axis_x = QBarCategoryAxis()
        axis_x.append(day_labels([d for d, _ in s.per_day]))
        axis_x.setGridLineVisible(False)
        axis_x.setTruncateLabels(False)
        axis_y = QValueAxis()
        axis_y.setLabelFormat("%d")
        axis_y.setRange(0, max([n for _, n in s.per_day] + [1]) * 1.1)
        axis_y.applyNiceNumbers()
        days.addAxis(axis_x, Qt.AlignmentFlag.AlignBottom)
        days.addAxis(axis_y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(axis_x)
        series.attachAxis(axis_y)
        self._replace(self.per_day_view, days)

        depts = self._chart("Appointments per department, last 30 days")
        top = list(reversed(s.per_department[:10]))
        dept_bars = QBarSet("Appointments")
        dept_bars.setColor(QColor("#0d9488"))
        dept_bars.setBorderColor(QColor("#0d9488"))
        dept_bars.append([float(n) for _, n in top])
        hseries = QHorizontalBarSeries()
        hseries.setBarWidth(0.7)
        hseries.append(dept_bars)
        depts.addSeries(hseries)
        axis_d = QBarCategoryAxis()
        axis_d.append([name for name, _ in top] or ["(none)"])
        axis_n = QValueAxis()
        axis_n.setLabelFormat("%d")
        axis_n.setRange(0, max([n for _, n in top] + [1]) * 1.1)
        axis_n.applyNiceNumbers()
        depts.addAxis(axis_d, Qt.AlignmentFlag.AlignLeft)
        depts.addAxis(axis_n, Qt.AlignmentFlag.AlignBottom)
        hseries.attachAxis(axis_d)
        hseries.attachAxis(axis_n)
        self._replace(self.per_department_view, depts)

    @staticmethod
    def _replace(view: Any, chart: Any) -> None:
        old = view.chart()
        view.setChart(chart)
        # setChart hands ownership of the new chart to the view; the old one is ours to free.
        if old is not None:
            old.deleteLater()
