"""The report as a Word file in the form of Nghị định 30/2020/NĐ-CP, for a leader to sign.

The layout and wording live in ``templates/bao_cao.docx`` (a docxtpl template people can edit
in Word); this module fills it: every number from the roll-up, the documents and narrative
from check-ins, the targets table, and the annexes (Biểu 1–5, which the Excel workbook shows
too). Completeness and raw check-ins stay out of the signed report (they are in the workbook).
The report is written in Vietnamese, the language of the form, whoever asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from bot.i18n import Translator
from bot.models import Checkin
from bot.services import activities
from bot.services.reports import Report
from bot.services.rollup import Rollup
from bot.services.targets import Result, Verdict
from bot.views.reports import percent, period_name, reason, target_name, verdict

TEMPLATE = Path(__file__).resolve().parent / "templates" / "bao_cao.docx"
GAP = "[…]"  # a place left for people to write

Number = int | float | None


def vi() -> Translator:
    return Translator("vi")


# --- the annexes, as numbers (Word writes them as text, Excel as numbers) ----------------


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


def _ratio(part: int, whole: int) -> float | None:
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


def _option_label(activity: str, field: str, value: str) -> str:
    spec = activities.get(activity)
    found = spec.field(field) if spec else None
    option = next((o for o in found.options if o.value == value), None) if found else None
    return vi().gettext(option.label) if option else value


def _options(activity: str, field: str) -> list[str]:
    spec = activities.get(activity)
    found = spec.field(field) if spec else None
    return [o.value for o in found.options] if found else []


def _by_option(r: Rollup, b: Rollup, activity: str, field: str, label: str, unit: str,
               always: tuple[str, ...] = ()) -> list[tuple[str, str, Number, Number]]:
    """One "of which" row per option picked in either period (and those always shown)."""
    rows = []
    for value in _options(activity, field):
        key = f"{field}={value}"
        now, before = r.total(activity, key), b.total(activity, key)
        if now or before or value in always:
            rows.append((f"- {label}{_option_label(activity, field, value)}", unit, now, before))
    return rows


def _staff(report: Report) -> Annex:
    """Biểu 1: the latest staff figures by sex (as of the period's end)."""
    r, p = report.rollup, report.rollup.profile

    def by_sex(label: str, total: str, women: str) -> AnnexRow:
        whole, part = p.get(total, 0), p.get(women, 0)
        return AnnexRow(label, "người", (whole, part, _ratio(part, whole)))

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
         _ratio(r.total("budget", "spent"), r.total("budget", "planned")),
         _ratio(b.total("budget", "spent"), b.total("budget", "planned"))),
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


def _number(t: Translator, value: Number, signed: bool = False) -> str:
    if value is None:
        return "—"
    text = t.number(value).replace("-", "−")
    return f"+{text}" if signed and value > 0 else text


def _figure(t: Translator, result: Result | None) -> str:
    if result is None or result.verdict == Verdict.unknown:
        return "—"
    return f"{percent(t, result.percent)} ({t.number(result.numerator)}/" \
           f"{t.number(result.denominator)})"


def _target_rows(t: Translator, report: Report) -> list[dict[str, str]]:
    before = {r.code: r for r in report.targets_before}
    return [{
        "stt": str(i), "name": target_name(t, r.code), "unit": "%", "level": f"{r.level}%",
        "value": _figure(t, r), "before": _figure(t, before.get(r.code)),
        "verdict": verdict(t, r),
        # Unknown: say why; not met: left for people to explain.
        "reason": (reason(t, r) if r.verdict == Verdict.unknown
                   else GAP if r.verdict == Verdict.not_met else ""),
    } for i, r in enumerate(report.targets, 1)]


def _unit_names(report: Report) -> dict[int, str]:
    return {u.id: u.name for u in report.units}


def _document(report: Report, checkin: Checkin) -> str:
    f = checkin.fields
    kind = _option_label("document", "kind", f.get("kind", "other"))
    text = f"{kind} số {f.get('number', '…')} ngày {checkin.starts_on:%d/%m/%Y}"
    if len(report.units) > 1:
        text += f" ({_unit_names(report).get(checkin.unit_id, '')})"
    return f"{text}: {f.get('subject', '')}"


def _narrative(report: Report, field: str) -> list[str]:
    """Each line of the check-ins' text, led by the unit's name when it is a unit below."""
    names, found = _unit_names(report), []
    for checkin in report.narrative:
        text = (checkin.fields.get(field) or "").strip()
        lines = [line.strip(" -•\t") for line in text.splitlines() if line.strip(" -•\t")]
        prefix = "" if checkin.unit_id == report.unit.id else f"{names.get(checkin.unit_id)}: "
        found += [prefix + line for line in lines]
    return found


def _numbers(t: Translator, report: Report) -> dict[str, str]:
    r, p = report.rollup, report.rollup.profile
    raw: dict[str, int] = {
        "units": len(report.units), "profiled_units": r.profiled_units,
        "units_with_woman_leader": r.units_with_woman_leader,
        "documents": len(report.documents),
        "articles": r.counts.get("article", 0),
        "communication": r.counts.get("communication", 0),
        "dedicated": r.total("communication", "mode=dedicated"),
        "integrated": r.total("communication", "mode=integrated"),
        "participants": r.total("communication", "participants"),
        "participants_women": r.total("communication", "women"),
        "classes": r.total("training", "classes"),
        "attendances": r.total("training", "attendances"),
        "training_women": r.total("training", "women"),
        "sent": r.total("sent_training", "sent"), "sent_women": r.total("sent_training", "women"),
        "drafted": r.total("mainstreaming", "drafted"),
        "mainstreamed": r.total("mainstreaming", "mainstreamed"),
        "detected": r.total("gbv_support", "detected"),
        "referred": r.total("gbv_support", "referred"),
        "supported": r.total("gbv_support", "supported"),
        "supported_women": r.total("gbv_support", "supported_women"),
        "models": r.counts.get("model", 0),
        "inspections": r.counts.get("inspection", 0),
        "inspected_units": r.total("inspection", "units"),
        "commendations": r.counts.get("commendation", 0),
        "collectives": r.total("commendation", "collectives"),
        "individuals": r.total("commendation", "individuals"),
        "commended_women": r.total("commendation", "women"),
        "planned": r.total("budget", "planned"), "spent": r.total("budget", "spent"),
        "cooperation": r.counts.get("cooperation", 0),
        "cooperation_amount": r.total("cooperation", "amount"),
    }
    for name in ("staff", "staff_women", "leaders", "leaders_women", "pool", "pool_women",
                 "pool_women_trained"):
        raw[name] = p.get(name, 0)
    words = {name: t.number(value) for name, value in raw.items()}
    for part, whole in [("staff_women", "staff"), ("leaders_women", "leaders"),
                        ("pool_women", "pool"), ("pool_women_trained", "pool_women")]:
        words[f"{part}_pct"] = percent(t, _ratio(raw[part], raw[whole]))
    return words


def _counted(t: Translator, r: Rollup, activity: str, field: str, unit: str) -> str:
    """"Công đoàn: 2 hoạt động; …" for the options picked in the period."""
    parts = []
    for value in _options(activity, field):
        n = r.total(activity, f"{field}={value}")
        if n:
            parts.append(f"{_option_label(activity, field, value)}: {t.number(n)}{unit}")
    return "; ".join(parts)


def context(report: Report) -> dict[str, Any]:
    """Everything the template writes (see templates/make_template.py for the names)."""
    t = vi()
    not_met = [target_name(t, r.code) for r in report.targets if r.verdict == Verdict.not_met]
    not_met = [name[:1].lower() + name[1:] for name in not_met]  # inside a sentence
    table = annexes(report)
    return {
        "parent_name": report.parent_name or "", "unit_name": report.unit.name,
        "period_name": period_name(t, report.period), "letter_number": report.letter_number,
        "many_units": len(report.units) > 1,
        "has_profile": report.rollup.profiled_units > 0,
        "n": _numbers(t, report),
        "documents": [_document(report, c) for c in report.documents],
        "ban_documents": [_document(report, c) for c in report.documents
                          if c.fields.get("purpose") == "organisation"],
        "organisers": _counted(t, report.rollup, "communication", "organisers", " hoạt động"),
        "models": _counted(t, report.rollup, "model", "stage", "").lower(),
        "targets": _target_rows(t, report),
        "not_met": "; ".join(not_met),
        "difficulties": _narrative(report, "difficulties"),
        "causes": _narrative(report, "causes"),
        "proposals": _narrative(report, "proposals"),
        "annexes": [{
            "number": a.number, "title": a.title, "columns": a.columns, "note": a.note,
            "rows": [{"stt": row.stt, "label": row.label, "unit": row.unit,
                      "figures": [_number(t, v, a.signed and i == 2)
                                 for i, v in enumerate(row.values)]} for row in a.rows],
        } for a in table],
    }


def render_docx(report: Report) -> bytes:
    from docxtpl import DocxTemplate  # loaded only when a report is written

    doc = DocxTemplate(TEMPLATE)
    doc.render(context(report), autoescape=True)  # escapes "&" in names and letter numbers
    out = BytesIO()
    doc.save(out)
    return out.getvalue()
