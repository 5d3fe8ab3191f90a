"""The report as a Word file in the form of Nghị định 30/2020/NĐ-CP, for a leader to sign.

The layout and wording live in ``templates/bao_cao.docx`` (a docxtpl template people can edit
in Word); this module fills it: every number from the roll-up, the documents and narrative
from check-ins, the targets table, and the annexes (Biểu 1–5, which the Excel workbook shows
too). Completeness and raw check-ins stay out of the signed report (they are in the workbook).
The report is written in Vietnamese, the language of the form, whoever asks for it.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

from bot.exports.annexes import Number, annexes, option_label, options, ratio, vi
from bot.i18n import Translator
from bot.models import Checkin
from bot.services.reports import Report
from bot.services.rollup import Rollup
from bot.services.targets import Result, Verdict
from bot.views.reports import percent, period_name, reason, target_name, verdict

TEMPLATE = Path(__file__).resolve().parent / "templates" / "bao_cao.docx"
GAP = "[…]"  # a place left for people to write

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
    kind = option_label("document", "kind", f.get("kind", "other"))
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
        words[f"{part}_pct"] = percent(t, ratio(raw[part], raw[whole]))
    return words


def _counted(t: Translator, r: Rollup, activity: str, field: str, unit: str) -> str:
    """"Công đoàn: 2 hoạt động; …" for the options picked in the period."""
    parts = []
    for value in options(activity, field):
        n = r.total(activity, f"{field}={value}")
        if n:
            parts.append(f"{option_label(activity, field, value)}: {t.number(n)}{unit}")
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
