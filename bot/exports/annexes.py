"""The annexes of the report (Biểu 1–5) as numbers: the Word report writes them as text, the
Excel workbook as numbers. Wording is Vietnamese, the language of the form."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from bot.i18n import Translator
from bot.services import activities
from bot.services.reports import Report
from bot.services.rollup import Rollup

Number = int | float | None


@cache
def vi() -> Translator:
    """The form's language, made once (a workbook asks for it in every cell)."""
    return Translator("vi")


@dataclass
class AnnexRow:
    label: str  # "- …" for an "of which" row under the one above
    unit: str  # đơn vị tính
    values: tuple[Number, ...]
    stt: str = ""


@dataclass
class Annex:
    number: int
    title: str
    columns: tuple[str, ...]
    rows: list[AnnexRow]
    note: str = ""
    signed: bool = True  # the last column is a change (+/−), not a figure


COMPARE = ("Kỳ báo cáo", "Cùng kỳ", "Tăng (+), giảm (−)")


def ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100 * part / whole, 1)


def _numbered(rows: list[AnnexRow]) -> list[AnnexRow]:
    n = 0
    for row in rows:
        if not row.label.startswith("- "):
            n += 1
            row.stt = str(n)
    return rows


def _compare(items: list[tuple[str, str, Number, Number]]) -> list[AnnexRow]:
    """Rows of (label, unit, this period, a year before) with the change between them."""
    rows = []
    for label, unit, now, before in items:
        change = None if now is None or before is None else round(now - before, 1)
        rows.append(AnnexRow(label, unit, (now, before, change)))
    return _numbered(rows)


def option_label(activity: str, field: str, value: str) -> str:
    spec = activities.get(activity)
    found = spec.field(field) if spec else None
    option = next((o for o in found.options if o.value == value), None) if found else None
    return vi().gettext(option.label) if option else value


def options(activity: str, field: str) -> list[str]:
    spec = activities.get(activity)
    found = spec.field(field) if spec else None
    return [o.value for o in found.options] if found else []


def _by_option(r: Rollup, b: Rollup, activity: str, field: str, label: str, unit: str,
               always: tuple[str, ...] = ()) -> list[tuple[str, str, Number, Number]]:
    """One "of which" row per option picked in either period (and those always shown)."""
    rows = []
    for value in options(activity, field):
        key = f"{field}={value}"
        now, before = r.total(activity, key), b.total(activity, key)
        if now or before or value in always:
            rows.append((f"- {label}{option_label(activity, field, value)}", unit, now, before))
    return rows


def _staff(report: Report) -> Annex:
    """Biểu 1: the latest staff figures by sex (as of the period's end)."""
    r, p = report.rollup, report.rollup.profile

    def by_sex(label: str, total: str, women: str) -> AnnexRow:
        whole, part = p.get(total, 0), p.get(women, 0)
        return AnnexRow(label, "người", (whole, part, ratio(part, whole)))

    return Annex(1, "Số liệu cán bộ, lãnh đạo chủ chốt, quy hoạch theo giới tính",
                 ("Tổng số", "Trong đó nữ", "Tỷ lệ nữ (%)"), _numbered([
        by_sex("Cán bộ, công chức, viên chức, người lao động", "staff", "staff_women"),
        AnnexRow("- Đã được bồi dưỡng về bình đẳng giới", "người",
                 (p.get("trained_ge", 0), None, None)),
        by_sex("Lãnh đạo chủ chốt", "leaders", "leaders_women"),
        by_sex("Người trong quy hoạch các chức danh lãnh đạo, quản lý", "pool", "pool_women"),
        AnnexRow("- Nữ trong quy hoạch đã được đào tạo, bồi dưỡng", "người",
                 (None, p.get("pool_women_trained", 0), None)),
        by_sex("Thành viên cấp ủy", "party_committee", "party_committee_women"),
        by_sex("Ủy viên Ban chấp hành công đoàn", "union_committee", "union_committee_women"),
    ]), signed=False, note=(
        f"Số liệu mới nhất đến ngày {report.period.end:%d/%m/%Y} của {r.profiled_units}/"
        f"{len(report.units)} cơ quan, đơn vị đã cập nhật; {r.units_with_woman_leader} cơ "
        "quan, đơn vị có lãnh đạo chủ chốt là nữ."))


def _communication(r: Rollup, b: Rollup) -> Annex:
    return Annex(2, "Kết quả thông tin, truyền thông về bình đẳng giới", COMPARE, _compare([
        ("Tin, bài về bình đẳng giới được đăng tải", "tin, bài", r.counts.get("article", 0),
         b.counts.get("article", 0)),
        ("Hoạt động tuyên truyền", "hoạt động", r.counts.get("communication", 0),
         b.counts.get("communication", 0)),
        *_by_option(r, b, "communication", "mode", "", "hoạt động", ("dedicated", "integrated")),
        *_by_option(r, b, "communication", "organisers", "Do ", "hoạt động",
                    ("ban", "cong_doan", "doan_tn")),
        *_by_option(r, b, "communication", "campaign", "Dịp: ", "hoạt động"),
        ("Lượt người tham dự", "lượt người", r.total("communication", "participants"),
         b.total("communication", "participants")),
        ("- Trong đó nữ", "lượt người", r.total("communication", "women"),
         b.total("communication", "women")),
    ]))


def _training(r: Rollup, b: Rollup) -> Annex:
    return Annex(3, "Kết quả đào tạo, bồi dưỡng, tập huấn về bình đẳng giới", COMPARE, _compare([
        ("Lớp bồi dưỡng, tập huấn do cơ quan, đơn vị tổ chức", "lớp",
         r.total("training", "classes"), b.total("training", "classes")),
        *_by_option(r, b, "training", "topic", "Chủ đề: ", "đợt"),
        ("Lượt người tham dự", "lượt người", r.total("training", "attendances"),
         b.total("training", "attendances")),
        ("- Trong đó nữ", "lượt người", r.total("training", "women"),
         b.total("training", "women")),
        ("- Trong đó nữ trong quy hoạch", "lượt người", r.total("training", "pool"),
         b.total("training", "pool")),
        ("Cán bộ được cử tham gia bồi dưỡng, tập huấn do cơ quan khác tổ chức", "lượt người",
         r.total("sent_training", "sent"), b.total("sent_training", "sent")),
        ("- Trong đó nữ", "lượt người", r.total("sent_training", "women"),
         b.total("sent_training", "women")),
    ]))


def _articles(report: Report) -> Annex:
    """Biểu 4: articles per month of the period, against the same month a year before."""
    r, b = report.rollup, report.before
    now_months, before_months = r.articles_by_month, b.articles_by_month
    months = [(f"Tháng {m:02d}/{y}", "tin, bài", now_months.get(f"{y}-{m:02d}", 0),
               before_months.get(f"{y - 1}-{m:02d}", 0)) for y, m in report.period.months()]
    return Annex(4, "Tin, bài về bình đẳng giới theo tháng", COMPARE, _compare(
        [*months, ("Tổng số", "tin, bài", r.counts.get("article", 0),
                   b.counts.get("article", 0))]),
        note=("Tháng tính theo Nghị định 09/2019/NĐ-CP: từ ngày 15 tháng trước đến ngày 14 "
              "tháng báo cáo." if report.period.administrative else ""))


def _budget(r: Rollup, b: Rollup) -> Annex:
    return Annex(5, "Kinh phí thực hiện công tác bình đẳng giới", COMPARE, _compare([
        ("Kinh phí dự toán", "đồng", r.total("budget", "planned"), b.total("budget", "planned")),
        ("Kinh phí đã chi", "đồng", r.total("budget", "spent"), b.total("budget", "spent")),
        ("Tỷ lệ đã chi so với dự toán", "%",
         ratio(r.total("budget", "spent"), r.total("budget", "planned")),
         ratio(b.total("budget", "spent"), b.total("budget", "planned"))),
        ("Kinh phí cho mô hình, sáng kiến", "đồng", r.total("model", "funding"),
         b.total("model", "funding")),
        ("Kinh phí hợp tác quốc tế", "đồng", r.total("cooperation", "amount"),
         b.total("cooperation", "amount")),
    ]))


def annexes(report: Report) -> list[Annex]:
    """Biểu 1–5 of the report (the Word report and the workbook show the same)."""
    r, b = report.rollup, report.before
    return [_staff(report), _communication(r, b), _training(r, b), _articles(report),
            _budget(r, b)]


# --- the words and numbers of the Word report --------------------------------------------
