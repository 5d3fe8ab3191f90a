"""Words for reports: target names and verdicts, periods, and the short summary in chat."""

from __future__ import annotations

from bot.i18n import N_, Translator
from bot.messages import ascii_name
from bot.models import Unit
from bot.services import activities
from bot.services.periods import Period
from bot.services.reports import Report
from bot.services.targets import Result, Verdict

TARGET_NAMES = {
    "female_leaders": N_("Units with a woman among their key leaders"),
    "women_in_pool": N_("Women among those in the succession pool for leadership posts"),
    "pool_women_trained": N_("Women in the succession pool who were trained"),
    "staff_trained": N_("Staff and key leaders trained on gender equality"),
    "party_committee_women": N_("Women on the Party committee"),
    "union_committee_women": N_("Women on the trade-union committee"),
    "article_months": N_("Months with a gender-equality article"),
    "communication_ban": N_("Units with a communication activity by the Committee"),
    "communication_union": N_("Units with a communication activity by the trade union"),
    "communication_youth": N_("Units with a communication activity by the Youth Union"),
}
VERDICTS = {
    Verdict.met: N_("met"),
    Verdict.not_met: N_("not met"),
    Verdict.unknown: N_("cannot be assessed"),
}
REASONS = {
    "no_profile": N_("no unit has entered its staff figures by sex"),
    "zero_total": N_("the total is 0"),
    "no_checkins": N_("nothing was checked in during the period"),
}


def percent(t: Translator, value: float | None) -> str:
    return "—" if value is None else f"{t.number(round(value, 1))}%"


def target_name(t: Translator, code: str) -> str:
    return t.gettext(TARGET_NAMES[code])


def verdict(t: Translator, result: Result) -> str:
    return t.gettext(VERDICTS[result.verdict])


def reason(t: Translator, result: Result) -> str:
    """Why: the figures against the level, or why there are none."""
    if result.verdict == Verdict.unknown:
        return t.gettext(REASONS.get(result.reason, REASONS["no_checkins"]))
    return t.gettext("{value} ({n}/{d}) against a target of {level}").format(
        value=percent(t, result.percent), n=t.number(result.numerator),
        d=t.number(result.denominator), level=f"{result.level}%")


def period_name(t: Translator, period: Period) -> str:
    """"6 tháng đầu năm 2027 (từ ngày 15/12/2026 đến ngày 14/06/2027)" and the like."""
    span = t.date_range(period.start, period.end)
    kind, year = period.kind, period.year
    if kind == "year":
        name = t.gettext("year {year}").format(year=year)
    elif kind == "half":
        first = period.key.endswith("H1")
        name = (t.gettext("first six months of {year}") if first
                else t.gettext("last six months of {year}")).format(year=year)
    elif kind == "quarter":
        name = t.gettext("quarter {quarter} of {year}").format(quarter=period.key[-1], year=year)
    elif kind == "month":
        name = t.gettext("month {month}/{year}").format(month=int(period.key[5:7]), year=year)
    else:
        return span
    return f"{name} ({span})"


def file_name(unit: Unit, period: Period, ext: str) -> str:
    """bao-cao-so-cong-thuong-2027-H1.docx: the unit's name without diacritics."""
    slug = ascii_name(unit.name).lower()
    return f"bao-cao-{slug or unit.id}-{period.key.replace('..', '_')}.{ext}"


def activity_name(t: Translator, code: str) -> str:
    kind = activities.get(code)
    return t.gettext(kind.label) if kind else code


def summary_lines(t: Translator, report: Report) -> list[str]:
    """The short summary in chat: what was done, then each target's verdict."""
    r = report.rollup
    lines = [t.gettext("📊 {unit} — {period}").format(
        unit=report.unit.name, period=period_name(t, report.period))]
    if len(report.units) > 1:
        lines.append(t.gettext("({n} units, the unit itself included)").format(
            n=len(report.units)))
    if not r.counts:
        lines.append(t.gettext("Nothing was checked in during this period."))
    for code, n in sorted(r.counts.items(), key=lambda item: -item[1]):
        line = f"• {activity_name(t, code)}: {t.number(n)}"
        extra = _extra(t, code, r.totals.get(code, {}))
        lines.append(f"{line} ({extra})" if extra else line)
    expected = sum(c.expected for c in report.completeness)
    if expected:
        lines.append(t.gettext("Duties due in the period: {actual} of {expected} done, {on_time} "
                               "on time.").format(
            actual=sum(c.actual for c in report.completeness), expected=expected,
            on_time=sum(c.on_time for c in report.completeness)))
    lines += ["", t.gettext("Targets:")]
    unknown: dict[str, int] = {}
    for result in report.targets:
        if result.verdict == Verdict.unknown:  # one line per reason, not one per target
            unknown[result.reason] = unknown.get(result.reason, 0) + 1
            continue
        mark = "✅" if result.verdict == Verdict.met else "❌"
        lines.append(f"{mark} {target_name(t, result.code)}: {verdict(t, result)} — "
                     f"{reason(t, result)}")
    for why, n in unknown.items():
        lines.append("❔ " + t.ngettext("{n} target cannot be assessed: {reason}.",
                                        "{n} targets cannot be assessed: {reason}.", n).format(
            n=n, reason=t.gettext(REASONS.get(why, REASONS["no_checkins"]))))
    if "no_profile" in unknown:
        lines.append(t.gettext("(The focal point enters the staff figures with /checkin.)"))
    return lines


def _extra(t: Translator, code: str, totals: dict[str, int]) -> str:
    """The numbers that matter most for a type: people reached, and of whom women."""
    pairs = {"communication": ("participants", "women"), "training": ("attendances", "women"),
             "sent_training": ("sent", "women")}
    if code in pairs and pairs[code][0] in totals:
        total, women = (totals.get(name, 0) for name in pairs[code])
        return t.gettext("{total} people, of whom {women} women").format(
            total=t.number(total), women=t.number(women))
    if code == "budget" and "spent" in totals:
        return t.gettext("{amount} VND spent").format(amount=t.number(totals["spent"]))
    return ""
