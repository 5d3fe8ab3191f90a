"""The report as files: Word (Nghị định 30/2020 form), Excel, a chart; and `vstbpn report`
writing each of them."""

from __future__ import annotations

import asyncio
import io
import json
import re
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from docx import Document
from PIL import Image
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.context import AppContext
from bot.exports.report_chart import render_png
from bot.exports.report_docx import render_docx
from bot.exports.report_xlsx import render_xlsx
from bot.i18n import Translator
from bot.models import Duty, Role
from bot.services import activities, checkins, members, reports, units
from bot.services.checkins import Values
from bot.services.periods import period_of
from bot.services.report_rows import raw_checkins
from tests.conftest import VN, make_settings

NOW = datetime(2026, 1, 5, 9, tzinfo=VN)
PERIOD = "2025"  # administrative: 15/12/2024 – 14/12/2025; cùng kỳ 2024
LETTER = "739/BNV-CTTN&BĐG"  # an "&" the Word XML must escape
PROFILE_SO = {"as_of": "2025-11-30", "staff": 40, "staff_women": 22, "leaders": 4,
              "leaders_women": 1, "pool": 10, "pool_women": 4, "pool_women_trained": 3,
              "trained_ge": 30, "party_committee": 5, "party_committee_women": 1,
              "union_committee": 7, "union_committee_women": 3}
PROFILE_PHONG = {"as_of": "2025-11-30", "staff": 12, "staff_women": 5, "leaders": 2,
                 "leaders_women": 0, "pool": 3, "pool_women": 1, "pool_women_trained": 1,
                 "trained_ge": 12, "party_committee": 3, "party_committee_women": 0,
                 "union_committee": 3, "union_committee_women": 1}


async def seed(ctx: AppContext) -> int:
    """Tỉnh Hà Nam › Sở Công Thương (the report's unit) › Phòng Kế hoạch and Trung tâm
    Khuyến công, with check-ins in 2025 (and two in 2024, for "cùng kỳ"). Returns the Sở."""
    async with ctx.sessions() as session, session.begin():
        root = await units.add_unit(session, "Ban VSTBPN tỉnh Hà Nam", NOW)
        so = await units.add_unit(session, "Sở Công Thương", NOW, root.id)
        phong = await units.add_unit(session, "Phòng Kế hoạch", NOW, so.id)
        tt = await units.add_unit(session, "Trung tâm Khuyến công", NOW, so.id)
        people = {}
        for unit, role, name in [(so, Role.focal, "Lê Thị Hoa"), (phong, Role.member,
                                 "Trần Văn Nam"), (tt, Role.member, "Phạm Thị Mai")]:
            people[unit.id] = (await members.register(
                session, unit_id=unit.id, role=role, full_name=name, language="vi",
                channel="telegram", external_id=name, chat_id=name, now=NOW)).id
        duty = await session.scalar(select(Duty).where(Duty.unit_id == so.id,
                                                       Duty.code == "annual_report"))
        duty.letter_number = LETTER

        async def add(unit: Any, code: str, /, **fields: Any) -> None:
            await checkins.create(
                session, unit_id=unit.id, member_id=people.get(unit.id),
                values=Values(activities.get(code), fields), channel="telegram", now=NOW)

        await add(so, "profile", **PROFILE_SO)
        await add(phong, "profile", **PROFILE_PHONG)
        await add(so, "article", date="2025-01-10", title="Bình đẳng giới", channel="bulletin")
        await add(so, "article", date="2025-03-05", title="Ngày 8/3", channel="portal",
                  url="https://example.vn/a")
        await add(phong, "article", date="2025-03-20", title="=1+1", channel="other")
        await add(so, "communication", dates="2025-03-08", title="Tọa đàm 8/3",
                  mode="dedicated", format="seminar", organisers=["ban", "cong_doan"],
                  campaign="womens_day", participants=120, women=80)
        await add(tt, "communication", dates=["2025-10-18", "2025-10-20"], title="Hội thi 20/10",
                  mode="integrated", format="contest", organisers=["doan_tn"],
                  campaign="vn_womens_day", participants=50, women=30)
        await add(so, "training", dates="2025-06-10", title="Tập huấn lồng ghép giới",
                  topic="ge", audience=["staff"], format="in_person", classes=2,
                  attendances=60, women=35, pool=3)
        await add(phong, "sent_training", date="2025-05-05", course="Kỹ năng truyền thông",
                  organiser="Bộ Nội vụ", sent=3, women=2)
        await add(so, "document", date="2025-01-05", kind="plan", number="12/KH-SCT",
                  subject="Triển khai công tác bình đẳng giới năm 2025", purpose="annual_plan")
        await add(so, "document", date="2025-02-10", kind="decision", number="05/QĐ-SCT",
                  subject="Kiện toàn Ban Vì sự tiến bộ của phụ nữ", purpose="organisation")
        await add(so, "budget", period=["2025-01-01", "2025-12-31"], planned=50_000_000,
                  spent=42_500_000, sources=["state"])
        await add(so, "gbv_support", period=["2025-01-01", "2025-06-30"], detected=2,
                  referred=1, supported=2, supported_women=2)
        await add(phong, "difficulties", date="2025-11-20",
                  difficulties="Kinh phí hạn hẹp.\nCán bộ làm công tác kiêm nhiệm.",
                  causes="Chưa bố trí dự toán riêng.", proposals="Đề nghị bố trí kinh phí.")
        await add(so, "article", date="2024-05-10", title="Năm trước", channel="bulletin")
        await add(so, "communication", dates="2024-03-08", title="Năm trước", mode="dedicated",
                  format="talk", organisers=["ban"], campaign="womens_day", participants=100,
                  women=70)
        return so.id


async def build(ctx: AppContext, unit_id: int) -> reports.Report:
    async with ctx.sessions() as session:
        unit = await units.by_id(session, unit_id)
        return await reports.build(session, unit, period_of(PERIOD), ctx.calendar.cal)


@pytest.fixture
async def report(app: AppContext) -> reports.Report:
    return await build(app, await seed(app))


def _text(doc: Any) -> str:
    """Every paragraph of the body and of its tables, one per line."""
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts += [cell.text for cell in row.cells]
    return "\n".join(parts)


# --- Word --------------------------------------------------------------------------------


async def test_word_report_follows_the_decree_form_and_fills_every_number(report) -> None:
    doc = Document(io.BytesIO(render_docx(report)))
    section = doc.sections[0]
    def mm(length: Any) -> float:  # Word keeps twentieths of a point
        return round(length.mm, 1)

    assert (mm(section.page_width), mm(section.page_height)) == (210, 297)  # A4
    assert 20 <= mm(section.top_margin) <= 25 and 20 <= mm(section.bottom_margin) <= 25
    assert 30 <= mm(section.left_margin) <= 35 and 15 <= mm(section.right_margin) <= 20
    normal = doc.styles["Normal"].font
    assert normal.name == "Times New Roman" and 13 <= normal.size.pt <= 14

    header = doc.tables[0]
    left, right = header.rows[0].cells
    assert "BAN VSTBPN TỈNH HÀ NAM" in left.text and "SỞ CÔNG THƯƠNG" in left.text
    unit_run = next(r for p in left.paragraphs for r in p.runs if r.text == "SỞ CÔNG THƯƠNG")
    assert unit_run.bold
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in right.text
    assert "Độc lập - Tự do - Hạnh phúc" in right.text
    number, place = header.rows[1].cells
    assert number.text.startswith("Số: ") and "/BC-" in number.text
    assert re.fullmatch(r"…, ngày … tháng … năm …", place.text)
    assert place.paragraphs[0].runs[0].italic

    text = _text(doc)
    assert "{{" not in text and "{%" not in text  # every tag was filled
    lines = [p.text for p in doc.paragraphs]
    assert "BÁO CÁO" in lines
    assert ("Kết quả thực hiện công tác bình đẳng giới và vì sự tiến bộ của phụ nữ năm 2025 "
            "(từ ngày 15/12/2024 đến ngày 14/12/2025)") in lines
    assert f"Thực hiện Công văn số {LETTER} của Ban VSTBPN tỉnh Hà Nam" in text
    for heading in ["I. ĐẶC ĐIỂM TÌNH HÌNH", "II. KẾT QUẢ THỰC HIỆN",
                    "III. KẾT QUẢ THỰC HIỆN CÁC MỤC TIÊU, CHỈ TIÊU", "IV. ĐÁNH GIÁ CHUNG",
                    "V. PHƯƠNG HƯỚNG, NHIỆM VỤ KỲ TỚI", "VI. ĐỀ XUẤT, KIẾN NGHỊ"]:
        assert heading in lines
    # I: staff by sex from the two profiles (40 + 12, women 22 + 5), 2 of 3 units.
    assert ("Tổng số cán bộ, công chức, viên chức và người lao động: 52 người, trong đó nữ 27 "
            "người (chiếm 51,9%)") in text
    assert "2/3 cơ quan, đơn vị đã cập nhật" in text
    # II: documents, communication, training, women cadres, GBV, budget.
    assert "- Kế hoạch số 12/KH-SCT ngày 05/01/2025 (Sở Công Thương): Triển khai công tác " \
           "bình đẳng giới năm 2025" in lines
    assert "- Đăng tải 3 tin, bài về bình đẳng giới" in text
    assert ("Tổ chức 2 hoạt động tuyên truyền (chuyên đề: 1; lồng ghép: 1) với 170 lượt người "
            "tham dự, trong đó nữ 110 lượt") in text
    assert "Công đoàn: 1 hoạt động" in text
    assert "Tổ chức 2 lớp bồi dưỡng, tập huấn với 60 lượt người tham dự, trong đó nữ 35" in text
    assert "Cử 3 lượt cán bộ" in text
    assert "trong quy hoạch các chức danh lãnh đạo, quản lý: 13 người, trong đó nữ 5" in text
    assert "Phát hiện 2 vụ việc, chuyển tuyến 1 vụ việc; hỗ trợ 2 người" in text
    assert "Kinh phí dự toán: 50.000.000 đồng; đã chi: 42.500.000 đồng" in text
    # IV and VI: the narrative check-ins, each line led by the unit below.
    assert "- Phòng Kế hoạch: Kinh phí hạn hẹp." in lines
    assert "- Phòng Kế hoạch: Cán bộ làm công tác kiêm nhiệm." in lines
    assert "- Phòng Kế hoạch: Chưa bố trí dự toán riêng." in lines
    assert "- Phòng Kế hoạch: Đề nghị bố trí kinh phí." in lines
    assert "Nơi nhận:" in text and "TRƯỞNG BAN" in text
    # Completeness stays in the workbook.
    assert "Đúng hạn" not in text and "Mức độ đầy đủ" not in text


async def test_word_targets_table_and_annexes(report) -> None:
    doc = Document(io.BytesIO(render_docx(report)))
    vi = Translator("vi")
    targets = next(t for t in doc.tables if t.rows[0].cells[0].text == "STT"
                   and t.rows[0].cells[1].text == "Chỉ tiêu")
    assert [c.text for c in targets.rows[0].cells] == [
        "STT", "Chỉ tiêu", "ĐVT", "Chỉ tiêu giao", "Kết quả kỳ báo cáo", "Cùng kỳ", "Đánh giá",
        "Nguyên nhân"]
    assert len(targets.rows) == 1 + len(report.targets)
    by_name = {row.cells[1].text: [c.text for c in row.cells] for row in targets.rows[1:]}
    # Women in the pool: 5 of 13 = 38,5% against 40% (2025): not met; last year no profile.
    pool = by_name[vi.gettext("Women among those in the succession pool for leadership posts")]
    assert pool[3:7] == ["40%", "38,5% (5/13)", "—", vi.gettext("not met")]
    assert vi.gettext("not met") == "chưa đạt"
    staff = by_name[vi.gettext("Staff and key leaders trained on gender equality")]
    assert staff[6] == "chưa đạt"  # 42 of 52
    women_union = by_name[vi.gettext("Women on the trade-union committee")]
    assert women_union[4:7] == ["40% (4/10)", "—", "đạt"]

    annex_tables = [t for t in doc.tables if t.rows[0].cells[1].text == "Nội dung"]
    assert len(annex_tables) == 5
    for n in range(1, 6):
        assert f"Biểu {n}" in [p.text for p in doc.paragraphs]
    staff_rows = {r.cells[1].text: [c.text for c in r.cells] for r in annex_tables[0].rows}
    assert staff_rows["Cán bộ, công chức, viên chức, người lao động"][3:] == ["52", "27", "51,9"]
    assert staff_rows["Lãnh đạo chủ chốt"][3:] == ["6", "1", "16,7"]
    comm = {r.cells[1].text: [c.text for c in r.cells] for r in annex_tables[1].rows}
    assert comm["Lượt người tham dự"][3:] == ["170", "100", "+70"]
    assert comm["- Do Công đoàn"][3:] == ["1", "0", "+1"]
    months = {r.cells[1].text: [c.text for c in r.cells] for r in annex_tables[3].rows}
    # Administrative months: 20/3 falls in April's (15/3 – 14/4).
    assert months["Tháng 01/2025"][3] == "1" and months["Tháng 04/2025"][3] == "1"
    assert months["Tổng số"][3:] == ["3", "1", "+2"]
    budget = {r.cells[1].text: [c.text for c in r.cells] for r in annex_tables[4].rows}
    assert budget["Kinh phí đã chi"][3:] == ["42.500.000", "0", "+42.500.000"]
    assert budget["Tỷ lệ đã chi so với dự toán"][3] == "85"


async def test_word_report_without_a_letter_or_data_leaves_places_to_write(app) -> None:
    unit_id = (await _empty_unit(app))
    doc = Document(io.BytesIO(render_docx(await build(app, unit_id))))
    text = _text(doc)
    assert "Thực hiện Công văn số […] ngày […] của […]" in text
    assert "{{" not in text
    targets = next(t for t in doc.tables if t.rows[0].cells[1].text == "Chỉ tiêu")
    for row in targets.rows[1:]:  # no data is never 0 %
        assert [c.text for c in row.cells][4:7] == ["—", "—", "không đánh giá được"]
    assert "Tổng số cán bộ, công chức, viên chức và người lao động: […] người" in text


async def _empty_unit(app: AppContext) -> int:
    async with app.sessions() as session, session.begin():
        return (await units.add_unit(session, "Sở Tư pháp", NOW)).id


# --- Excel --------------------------------------------------------------------------------


def _sheet_rows(ws: Any) -> list[tuple]:
    return [row for row in ws.iter_rows(min_row=5, values_only=True)]


async def test_workbook_sheets_numbers_and_totals(app, report) -> None:
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(report, include_raw=False)))
    assert book.sheetnames == ["Tổng hợp", "Chỉ tiêu", "Biểu 1", "Biểu 2", "Biểu 3", "Biểu 4",
                               "Biểu 5", "Mức độ đầy đủ"]
    for ws in book.worksheets:
        assert ws.freeze_panes == "A5", ws.title
        assert ws.column_dimensions["B"].width > 10
    vi = Translator("vi")
    summary = {(r[0], r[1]): r[2:4] for r in _sheet_rows(book["Tổng hợp"])}
    communication = vi.gettext(activities.get("communication").label)
    assert summary[(communication, "Số người tham dự")] == (170, 100)
    assert summary[(communication, "Đơn vị tổ chức: Công đoàn")] == (1, 0)
    # Every total of the roll-up is in the summary, as a number.
    for code, fields in report.rollup.totals.items():
        kind = activities.get(code)
        for name, value in fields.items():
            field, _, option = name.partition("=")
            spec = kind.field(field)
            label = vi.gettext(spec.label)
            if option:
                label += ": " + vi.gettext(next(o.label for o in spec.options
                                                if o.value == option))
            assert summary[(vi.gettext(kind.label), label)][0] == value
    profile = vi.gettext(activities.get("profile").label)
    assert summary[(profile, "Tổng số cán bộ, công chức, viên chức, người lao động")] == (52, 0)

    targets = _sheet_rows(book["Chỉ tiêu"])
    assert len(targets) == len(report.targets)
    pool = next(r for r in targets if r[1] == vi.gettext(
        "Women among those in the succession pool for leadership posts"))
    assert pool[2:6] == (40, 5, 13, 38.5) and pool[9] == "chưa đạt"
    assert book["Chỉ tiêu"]["C5"].data_type == "n"

    comm = {r[1]: r for r in _sheet_rows(book["Biểu 2"])}
    assert comm["Lượt người tham dự"][3:6] == (170, 100, 70)
    assert book["Biểu 2"]["D5"].data_type == "n"
    budget = {r[1]: r for r in _sheet_rows(book["Biểu 5"])}
    assert budget["Kinh phí dự toán"][3] == 50_000_000

    complete = _sheet_rows(book["Mức độ đầy đủ"])
    assert complete, "the catalog's duties fall due in the period"
    totals = [r for r in complete if r[1] == "Tất cả đơn vị"]
    assert len(totals) == len(report.completeness)
    assert {r[0] for r in totals} == {c.title for c in report.completeness}
    assert all(isinstance(r[6], int) for r in totals)
    # Then, under its own heading, where each unit below stands with its own report.
    children = [r for r in complete if r[0] == "Báo cáo kỳ này"]
    assert [(r[1], r[3]) for r in children] == [(c.unit.name, "Chưa gửi")
                                                for c in report.children]
    unit_rows = [r for r in complete if any(r) and r[1] != "Tất cả đơn vị"
                 and r[0] != "Báo cáo kỳ này"
                 and r[0] != "Báo cáo của các đơn vị trực thuộc"]
    assert len(unit_rows) == len(report.unit_duties)
    assert {r[3] for r in unit_rows} <= {"Đúng hạn", "Trễ hạn", "Chưa thực hiện"}
    assert isinstance(unit_rows[0][2], datetime)  # the due date is a date cell


async def test_raw_sheet_only_when_asked(app, report) -> None:
    async with app.sessions() as session:
        raw = await raw_checkins(session, [u.id for u in report.units], report.period)
    assert len(raw) == 14  # the 2025 check-ins of the Sở and its two units
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(report, include_raw=True, raw=raw)))
    assert book.sheetnames[-1] == "Dữ liệu gốc"
    ws = book["Dữ liệu gốc"]
    assert ws.freeze_panes == "A5"
    header = [c.value for c in ws[4]]
    assert header[:8] == ["Mã", "Đơn vị", "Người cập nhật", "Loại hoạt động", "Từ ngày",
                          "Đến ngày", "Kênh", "Cập nhật lúc"]
    rows = [dict(zip(header, r, strict=True)) for r in _sheet_rows(ws)]
    assert len(rows) == 14
    talk = next(r for r in rows if r["Tên hoạt động"] == "Hội thi 20/10")
    assert talk["Đơn vị"] == "Trung tâm Khuyến công" and talk["Người cập nhật"] == "Phạm Thị Mai"
    assert talk["Số người tham dự"] == 50 and talk["Thời gian"] == "18/10/2025 – 20/10/2025"
    assert talk["Từ ngày"] == datetime(2025, 10, 18)
    assert talk["Đơn vị tổ chức"] == "Đoàn TNCS Hồ Chí Minh"
    formula_like = next(r for r in rows if r["Tiêu đề"] == "=1+1")
    assert formula_like["Đơn vị"] == "Phòng Kế hoạch"  # text, not a formula
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)


# --- chart --------------------------------------------------------------------------------


async def test_chart_is_a_phone_sized_png_with_every_glyph(report) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph … missing from font(s)" would fail here
        data = render_png(report)
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    assert image.size == (1080, 1350)


async def test_the_glyph_check_would_catch_a_missing_letter(report) -> None:
    report.unit.name = "Sở 🙂"  # not in DejaVu Sans: the check above is not vacuous
    with pytest.warns(UserWarning, match="Glyph .* missing"):
        render_png(report)


async def test_chart_of_a_unit_with_no_data(app) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = render_png(await build(app, await _empty_unit(app)))
    assert Image.open(io.BytesIO(data)).size == (1080, 1350)


# --- the command line ---------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The same tree in a SQLite file the CLI uses; the working directory is tmp_path."""
    path = tmp_path / "cli.db"
    monkeypatch.setenv("VSTBPN_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.delenv("VSTBPN_TELEGRAM_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)

    async def setup() -> None:
        ctx = await AppContext.create(make_settings(f"sqlite+aiosqlite:///{path}"))
        try:
            assert await seed(ctx) == 2
        finally:
            await ctx.close()

    asyncio.run(setup())
    return tmp_path


def run(*args: str) -> str:
    result = runner.invoke(cli, ["report", "--unit", "2", "--period", PERIOD, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_json_still_prints(db) -> None:
    data = json.loads(run())
    assert data["totals"]["communication"]["participants"] == 170


def test_cli_docx_to_a_named_file(db) -> None:
    out = run("--format", "docx", "-o", "bc.docx")
    assert "bc.docx" in out
    assert "BÁO CÁO" in [p.text for p in Document(db / "bc.docx").paragraphs]


def test_cli_xlsx_default_name_has_the_raw_check_ins(db) -> None:
    out = run("--format", "xlsx")
    path = db / "bao-cao-so-cong-thuong-2025.xlsx"
    assert str(path.name) in out and path.exists()
    book = openpyxl.load_workbook(path)
    assert "Dữ liệu gốc" in book.sheetnames
    assert len(_sheet_rows(book["Dữ liệu gốc"])) == 14


def test_cli_png(db) -> None:
    run("--format", "png", "-o", "chart.png")
    assert Image.open(db / "chart.png").size == (1080, 1350)


def test_cli_refuses_an_unknown_format(db) -> None:
    result = runner.invoke(cli, ["report", "--unit", "2", "--period", PERIOD, "--format",
                                 "pdf"])
    assert result.exit_code == 2 and "docx" in result.output

