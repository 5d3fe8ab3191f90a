"""The report as an Excel workbook: the figures behind the Word report (summary, targets,
Biểu 1–5), how complete and timely each unit was, and — for operators — every raw check-in.

Numbers are written as numbers (people add them up and chart them), each sheet's header row
is frozen, and text is never read as a formula or link (a title may start with "=").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from io import BytesIO
from typing import Any

import xlsxwriter

from bot.exports.annexes import annexes, vi
from bot.services import activities
from bot.services.activities import ActivityType, FieldSpec
from bot.services.report_rows import RawCheckin
from bot.services.reports import Report, UnitDuty
from bot.services.rollup import PROFILE, Rollup
from bot.views.reports import period_name, reason, target_name, verdict

HEADER_ROW = 3  # rows 0–1: title, 2: blank, 3: header (frozen with everything above)
STATUS = {"on_time": "Đúng hạn", "late": "Trễ hạn", "missing": "Chưa thực hiện"}


class Sheets:
    """The workbook and its formats; each sheet opens with the report's title."""

    def __init__(self, report: Report, out: BytesIO) -> None:
        self.report = report
        self.book = xlsxwriter.Workbook(out, {
            "in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False})
        add = self.book.add_format
        self.title = add({"bold": True, "font_size": 14})
        self.header = add({"bold": True, "text_wrap": True, "valign": "vcenter",
                           "align": "center", "border": 1, "bg_color": "#D9E1F2"})
        self.bold = add({"bold": True})
        self.int = add({"num_format": "#,##0"})
        self.pct = add({"num_format": "0.0"})
        self.date = add({"num_format": "dd/mm/yyyy"})
        self.stamp = add({"num_format": "dd/mm/yyyy hh:mm"})
        self.wrap = add({"text_wrap": True, "valign": "top"})
        self.note = add({"italic": True})

    def sheet(self, name: str, heading: str, columns: Sequence[tuple[str, float]]) -> Any:
        ws = self.book.add_worksheet(name)
        t = vi()
        ws.write(0, 0, f"{heading} — {self.report.unit.name}", self.title)
        ws.write(1, 0, period_name(t, self.report.period))
        for col, (label, width) in enumerate(columns):
            ws.write(HEADER_ROW, col, label, self.header)
            ws.set_column(col, col, width)
        ws.freeze_panes(HEADER_ROW + 1, 0)
        return ws

    def cell(self, ws: Any, row: int, col: int, value: Any) -> None:
        """A number as a number (a percent as a float with one decimal), a date as a date;
        nothing for None (a blank cell without a format is not written anyway)."""
        if value is None:
            return
        if isinstance(value, bool):
            ws.write_string(row, col, "Có" if value else "Không")
        elif isinstance(value, int):
            ws.write_number(row, col, value, self.int)
        elif isinstance(value, float):
            ws.write_number(row, col, value, self.pct)
        elif isinstance(value, datetime):
            ws.write_datetime(row, col, value.astimezone(self.report.unit.tz)
                              .replace(tzinfo=None), self.stamp)
        elif isinstance(value, date):
            ws.write_datetime(row, col, value, self.date)
        else:
            ws.write_string(row, col, str(value))

    def rows(self, ws: Any, rows: Sequence[Sequence[Any]], first: int = HEADER_ROW + 1) -> int:
        for i, values in enumerate(rows):
            for col, value in enumerate(values):
                self.cell(ws, first + i, col, value)
        return first + len(rows)


# --- the sheets ----------------------------------------------------------------------------


def _summary_rows(now: Rollup, before: Rollup) -> list[list[Any]]:
    """Per activity type in the catalog's order: check-ins, then each number and option
    (options only when picked in either period)."""
    t, rows = vi(), []
    for kind in activities.catalog().values():
        if kind.code == PROFILE:
            continue
        label = t.gettext(kind.label)
        rows.append([label, "Số lượt cập nhật", now.counts.get(kind.code, 0),
                     before.counts.get(kind.code, 0)])
        for f in kind.fields:
            if f.kind in activities.NUMBER_KINDS:
                rows.append([label, t.gettext(f.label), now.total(kind.code, f.name),
                             before.total(kind.code, f.name)])
            for option in f.options:
                key = f"{f.name}={option.value}"
                if now.total(kind.code, key) or before.total(kind.code, key):
                    rows.append([label, f"{t.gettext(f.label)}: {t.gettext(option.label)}",
                                 now.total(kind.code, key), before.total(kind.code, key)])
    profile = activities.get(PROFILE)
    if profile is not None:
        label = t.gettext(profile.label)
        rows.append([label, "Số cơ quan, đơn vị đã cập nhật", now.profiled_units,
                     before.profiled_units])
        rows += [[label, t.gettext(f.label), now.profile.get(f.name, 0),
                  before.profile.get(f.name, 0)]
                 for f in profile.fields if f.kind in activities.NUMBER_KINDS]
    return rows


def _summary(s: Sheets) -> None:
    ws = s.sheet("Tổng hợp", "Tổng hợp kết quả", [
        ("Loại hoạt động", 42), ("Chỉ số", 48), ("Kỳ báo cáo", 14), ("Cùng kỳ", 14)])
    s.rows(ws, _summary_rows(s.report.rollup, s.report.before))


def _targets(s: Sheets) -> None:
    t, report = vi(), s.report
    ws = s.sheet("Chỉ tiêu", "Kết quả thực hiện các chỉ tiêu", [
        ("STT", 5), ("Chỉ tiêu", 48), ("Chỉ tiêu giao (%)", 11), ("Tử số", 9), ("Mẫu số", 9),
        ("Kết quả (%)", 11), ("Cùng kỳ: tử số", 10), ("Cùng kỳ: mẫu số", 10),
        ("Cùng kỳ (%)", 11), ("Đánh giá", 18), ("Ghi chú", 50)])
    before = {r.code: r for r in report.targets_before}
    rows = []
    for i, r in enumerate(report.targets, 1):
        b = before.get(r.code)
        rows.append([i, target_name(t, r.code), r.level, r.numerator, r.denominator,
                     _round(r.percent), b.numerator if b else None,
                     b.denominator if b else None, _round(b.percent) if b else None,
                     verdict(t, r), reason(t, r)])
    s.rows(ws, rows)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _annexes(s: Sheets) -> None:
    for annex in annexes(s.report):
        ws = s.sheet(f"Biểu {annex.number}", f"Biểu {annex.number}: {annex.title}", [
            ("STT", 5), ("Nội dung", 60), ("ĐVT", 11),
            *((column, 16) for column in annex.columns)])
        end = s.rows(ws, [[int(r.stt) if r.stt else None, r.label, r.unit, *r.values]
                          for r in annex.rows])
        if annex.note:
            ws.write(end + 1, 0, f"Ghi chú: {annex.note}", s.note)


SUBMISSION = {"approved": "Đã duyệt", "excused": "Được miễn", "submitted": "Đã gửi, chờ duyệt",
              "late": "Gửi muộn, chờ duyệt", "returned": "Bị trả lại", "missing": "Chưa gửi"}


def _completeness(s: Sheets) -> None:
    """Per duty a line for all units (bold), then each unit's due dates under it."""
    ws = s.sheet("Mức độ đầy đủ", "Mức độ đầy đủ, kịp thời", [
        ("Nhiệm vụ", 44), ("Đơn vị", 30), ("Hạn", 12), ("Tình trạng", 15),
        ("Ngày thực hiện", 14), ("Người cập nhật", 36), ("Phải thực hiện", 11),
        ("Đã thực hiện", 11), ("Đúng hạn", 11), ("Tỷ lệ thực hiện (%)", 12),
        ("Tỷ lệ đúng hạn (%)", 12)])
    row = HEADER_ROW + 1
    by_code: dict[str, list[UnitDuty]] = {}
    for unit_duty in s.report.unit_duties:
        by_code.setdefault(unit_duty.code, []).append(unit_duty)
    for duty in s.report.completeness:
        on_time = None if duty.expected == 0 else round(100 * duty.on_time / duty.expected, 1)
        s.rows(ws, [[duty.title, "Tất cả đơn vị", None, None, None, None, duty.expected,
                     duty.actual, duty.on_time, _round(duty.percent), on_time]], row)
        ws.set_row(row, None, s.bold)
        units = by_code.get(duty.code, [])
        row = s.rows(ws, [[u.title, u.unit_name, u.due_on, STATUS[u.status], u.done_on,
                           ", ".join(u.checked_in), 1, int(u.status != "missing"),
                           int(u.status == "on_time"), None, None] for u in units], row + 1)
    if s.report.children:  # the units below: where their own report for the period stands
        ws.write(row + 1, 0, "Báo cáo của các đơn vị trực thuộc", s.bold)
        s.rows(ws, [["Báo cáo kỳ này", c.unit.name, c.submission.due_on if c.submission else None,
                     SUBMISSION[c.status],
                     c.submission.submitted_at.astimezone(c.unit.tz).date() if c.submission
                     and c.submission.submitted_at else None, None, None, None, None, None,
                     None]
                    for c in s.report.children], row + 2)


def _field_value(f: FieldSpec, value: Any) -> Any:
    """A stored answer as a cell: numbers stay numbers, options become their labels."""
    if value is None:
        return None
    if f.kind in activities.NUMBER_KINDS:
        return int(value)
    if f.kind == "yesno":
        return bool(value)
    if f.kind in activities.CHOICE_KINDS:
        labels = _labels(f)
        picked = value if isinstance(value, list) else [value]
        return "; ".join(labels.get(v, v) for v in picked)
    if f.kind in activities.DATE_KINDS:
        if isinstance(value, str):
            return date.fromisoformat(value)
        first, last = (date.fromisoformat(v) for v in value)
        return f"{first:%d/%m/%Y} – {last:%d/%m/%Y}"
    return str(value)


@cache
def _labels(f: FieldSpec) -> dict[str, str]:
    t = vi()
    return {o.value: t.gettext(o.label) for o in f.options}


def _raw(s: Sheets, raw: Sequence[RawCheckin]) -> None:
    """One row per check-in; one column per field label of the types present (a label
    shared by several types, like "Trong đó nữ", shares its column)."""
    t, catalog = vi(), activities.catalog()
    order = {code: i for i, code in enumerate(catalog)}
    raw = sorted(raw, key=lambda r: (order.get(r.checkin.activity, len(order)),
                                     r.checkin.starts_on, r.checkin.id))
    columns: dict[str, int] = {}
    kinds: list[ActivityType] = [catalog[c] for c in dict.fromkeys(
        r.checkin.activity for r in raw) if c in catalog]
    for kind in kinds:
        for f in kind.fields:
            columns.setdefault(t.gettext(f.label), len(columns))
    fixed = [("Mã", 7), ("Đơn vị", 28), ("Người cập nhật", 24), ("Loại hoạt động", 32),
             ("Từ ngày", 12), ("Đến ngày", 12), ("Kênh", 10), ("Cập nhật lúc", 16)]
    ws = s.sheet("Dữ liệu gốc", "Dữ liệu gốc", [*fixed, *((label, 20) for label in columns)])
    rows = []
    for item in raw:
        c = item.checkin
        kind = catalog.get(c.activity)
        row: list[Any] = [c.id, item.unit_name, item.member_name,
                          t.gettext(kind.label) if kind else c.activity, c.starts_on,
                          c.ends_on, c.channel, c.updated_at] + [None] * len(columns)
        for f in kind.fields if kind else ():
            row[len(fixed) + columns[t.gettext(f.label)]] = _field_value(f, c.fields.get(f.name))
        rows.append(row)
    s.rows(ws, rows)
    ws.autofilter(HEADER_ROW, 0, HEADER_ROW + max(len(rows), 1), len(fixed) + len(columns) - 1)


def render_xlsx(
    report: Report, include_raw: bool = False, raw: Sequence[RawCheckin] = ()
) -> bytes:
    """The workbook; with ``include_raw`` (operators only) also the raw check-ins ``raw``
    (from ``bot.services.report_rows.raw_checkins``)."""
    out = BytesIO()
    s = Sheets(report, out)
    _summary(s)
    _targets(s)
    _annexes(s)
    _completeness(s)
    if include_raw:
        _raw(s, raw)
    s.book.close()
    return out.getvalue()
