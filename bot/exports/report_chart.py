"""The report as one picture for chat: activities checked in (this period and a year before)
and each target against its level, 1080 × 1350 px, readable on a phone.

matplotlib is imported inside ``render_png`` (it is slow to import; ``vstbpn --help`` should
not pay for it) and drawn with Agg and DejaVu Sans, which ships with matplotlib and has every
Vietnamese letter.
"""

from __future__ import annotations

import textwrap
from io import BytesIO

from bot.i18n import Translator
from bot.services import activities
from bot.services.reports import Report
from bot.services.targets import Verdict
from bot.views.reports import period_name, target_name, verdict

SIZE, DPI = (7.2, 9.0), 150  # inches: 1080 × 1350 px
FONT = "DejaVu Sans"
NOT_ACTIVITIES = {"profile", "difficulties"}  # staff figures and free text: not counted here
COLOURS = {Verdict.met: "#2e7d32", Verdict.not_met: "#ef6c00", Verdict.unknown: "#9e9e9e"}


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width))


def render_png(report: Report) -> bytes:
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    t = Translator("vi")  # the report's language, as in the Word report
    now, before = report.rollup.counts, report.before.counts
    kinds = [k for k in activities.catalog().values()
             if k.code not in NOT_ACTIVITIES and (now.get(k.code) or before.get(k.code))]
    with rc_context({"font.family": FONT, "font.size": 9}):
        fig = Figure(figsize=SIZE, dpi=DPI)
        FigureCanvasAgg(fig)
        fig.suptitle(_wrap(f"{report.unit.name} — {period_name(t, report.period)}", 52),
                     fontsize=11, fontweight="bold")
        top, bottom = fig.subplots(2, 1, gridspec_kw={"height_ratios": [2, 3]})

        # Activities: this period and the same period a year before, side by side.
        if kinds:
            ys = range(len(kinds))
            top.barh([y - 0.2 for y in ys], [now.get(k.code, 0) for k in kinds], 0.4,
                     color="#1565c0", label="Kỳ báo cáo")
            top.barh([y + 0.2 for y in ys], [before.get(k.code, 0) for k in kinds], 0.4,
                     color="#90caf9", label="Cùng kỳ")
            for y, k in zip(ys, kinds, strict=True):
                top.text(now.get(k.code, 0), y - 0.2, f" {now.get(k.code, 0)}", va="center",
                         fontsize=8)
            top.set_yticks(list(ys), [_wrap(t.gettext(k.label), 30) for k in kinds],
                           fontsize=8)
            top.invert_yaxis()
            top.xaxis.set_major_locator(MaxNLocator(integer=True))
            top.legend(loc="lower right", fontsize=8)
        else:
            top.text(0.5, 0.5, "Chưa có hoạt động nào được cập nhật trong kỳ", ha="center",
                     va="center", transform=top.transAxes)
            top.set_yticks([])
        top.set_title("Số lượt hoạt động đã cập nhật", fontsize=10, loc="left")
        top.margins(x=0.15)

        # Targets: the figure against its level; a target with no data shows no bar.
        results = report.targets
        ys = range(len(results))
        bottom.barh(list(ys), [min(r.percent or 0, 100) for r in results], 0.6,
                    color=[COLOURS[r.verdict] for r in results])
        for y, r in zip(ys, results, strict=True):
            bottom.plot([r.level, r.level], [y - 0.4, y + 0.4], color="black", linewidth=1.5)
            label = (verdict(t, r) if r.percent is None
                     else f"{t.number(round(r.percent, 1))}% — {verdict(t, r)}")
            bottom.text(106, y, label, va="center", fontsize=8)
        bottom.set_yticks(list(ys), [_wrap(target_name(t, r.code), 34) for r in results],
                          fontsize=7.5)
        bottom.invert_yaxis()
        bottom.set_xlim(0, 160)
        bottom.set_xticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
        bottom.set_title("Chỉ tiêu: kết quả (%) so với chỉ tiêu giao (vạch đen)", fontsize=10,
                         loc="left")
        for ax in (top, bottom):
            ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        out = BytesIO()
        fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
