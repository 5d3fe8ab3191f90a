"""Writes ``bao_cao.docx``, the Word template of the report (docxtpl: Jinja tags in Word).

Run ``python bot/exports/templates/make_template.py`` to regenerate it; after that people may
edit the .docx in Word directly (wording, fonts, the signature block) — re-running this script
overwrites such edits. The layout follows the form of Nghị định 30/2020/NĐ-CP: A4, margins
top/bottom 20 mm, left 30 mm, right 15 mm, Times New Roman 14 pt (12–13 pt in the header,
11–12 pt in tables).

Variables (filled by ``bot.exports.report_docx.context``): ``parent_name``, ``unit_name``,
``period_name``, ``letter_number``, ``many_units``, ``has_profile``, ``n`` (every number,
already written the Vietnamese way: ``n.staff``, ``n.articles``…), ``documents``,
``ban_documents``, ``organisers``, ``models``, ``targets`` (rows: stt, name, unit, level,
value, before, verdict, reason), ``not_met``, ``difficulties``, ``causes``, ``proposals``,
``annexes`` (number, title, columns, note, rows: stt, label, unit, figures). Tags: ``{{ x }}``
writes a value, ``{%p … %}`` alone in a paragraph and ``{%tr … %}`` alone in a table row are
loops and conditions that remove their own paragraph or row. "[…]" (highlighted) marks a place
for people to write.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from docx.table import Table

OUT = Path(__file__).resolve().parent / "bao_cao.docx"
FONT = "Times New Roman"
GAP = "[…]"
TEXT_WIDTH = 210 - 30 - 15  # mm between the margins
CENTER, RIGHT, JUSTIFY = (WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.RIGHT,
                          WD_ALIGN_PARAGRAPH.JUSTIFY)


def _fonts(element) -> None:
    """Times New Roman for every script (Vietnamese letters come from the hAnsi slot)."""
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, fonts)
    for slot in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(slot), FONT)


def setup(doc) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin = section.bottom_margin = Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(14)
    _fonts(normal.element)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.15
    grid = doc.styles["Table Grid"]
    grid.font.name = FONT
    _fonts(grid.element)


def para(container, text: str = "", *, bold: bool = False, italic: bool = False, align=None,
         size: float | None = None, indent: bool = False, after: float | None = None):
    """One paragraph of one run, so no Jinja tag is split between runs. "[…]" is
    highlighted: a place left for people to write."""
    p = container.add_paragraph()
    if align is not None:
        p.alignment = align
    if indent:
        p.paragraph_format.first_line_indent = Cm(1)
    if after is not None:
        p.paragraph_format.space_after = Pt(after)
    for i, piece in enumerate(text.split(GAP)):
        if i:
            gap = p.add_run(GAP)
            gap.font.highlight_color = WD_COLOR_INDEX.YELLOW
            _style(gap, bold, italic, size)
        if piece:
            _style(p.add_run(piece), bold, italic, size)
    return p


def _style(run, bold: bool, italic: bool, size: float | None) -> None:
    run.bold, run.italic = bold or None, italic or None
    if size is not None:
        run.font.size = Pt(size)


def body(doc, text: str):
    return para(doc, text, align=JUSTIFY, indent=True)


def heading(doc, text: str):
    p = para(doc, text, bold=True, align=JUSTIFY, indent=True)
    p.paragraph_format.keep_with_next = True
    return p


def tag(doc, text: str) -> None:
    """A docxtpl paragraph tag ({%p … %}): the paragraph disappears when rendered."""
    para(doc, text)


def _no_spacing(cell) -> None:
    for p in cell.paragraphs:
        p.paragraph_format.space_after = Pt(0)


def _widths(table: Table, widths: list[float]) -> None:
    """Column widths in both places Word and LibreOffice read them (grid and cells)."""
    table.autofit = False
    for i, width in enumerate(widths):
        table.columns[i].width = Mm(width)
        for cell in table.columns[i].cells:
            cell.width = Mm(width)


def grid(doc, widths: list[int], header: list[str], cells: list[str], loop: str,
         size: float, numbers_from: int) -> Table:
    """A bordered table: a header row, then one row repeated by docxtpl for each item."""
    table = doc.add_table(rows=4, cols=len(widths))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _widths(table, widths)
    rows = table.rows
    rows[1].cells[0].text = "{%tr for " + loop + " %}"
    rows[3].cells[0].text = "{%tr endfor %}"
    for i in range(len(widths)):
        head = rows[0].cells[i].paragraphs[0]
        head.alignment = CENTER
        _style(head.add_run(header[i]), True, False, size)
        cell = rows[2].cells[i].paragraphs[0]
        cell.alignment = RIGHT if i >= numbers_from else (CENTER if i == 0 else None)
        _style(cell.add_run(cells[i]), False, False, size)
    for row in rows:
        for cell in row.cells:
            _no_spacing(cell)
    _repeat_header(rows[0])
    return table


def _repeat_header(row) -> None:
    trpr = row._tr.get_or_add_trPr()
    trpr.append(trpr.makeelement(qn("w:tblHeader"), {}))


def header_block(doc) -> None:
    """Agency (left) and the national motto (right); number, place and date below."""
    table = doc.add_table(rows=2, cols=2)
    _widths(table, [70, TEXT_WIDTH - 70])
    agency, motto = table.rows[0].cells
    agency.paragraphs[0].text = "{%p if parent_name %}"
    para(agency, "{{ parent_name|upper }}", align=CENTER, size=13, after=0)
    para(agency, "{%p endif %}")
    para(agency, "{{ unit_name|upper }}", bold=True, align=CENTER, size=13, after=0)
    para(agency, "_______", bold=True, align=CENTER, size=13, after=0)
    motto.paragraphs[0].alignment = CENTER
    _style(motto.paragraphs[0].add_run("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"), True, False, 12)
    para(motto, "Độc lập - Tự do - Hạnh phúc", bold=True, align=CENTER, size=13, after=0)
    para(motto, "_______________________", bold=True, align=CENTER, size=13, after=0)
    number, place = table.rows[1].cells
    number.paragraphs[0].alignment = CENTER
    _style(number.paragraphs[0].add_run("Số: …/BC-…"), False, False, 13)
    place.paragraphs[0].alignment = CENTER
    _style(place.paragraphs[0].add_run("…, ngày … tháng … năm …"), False, True, 14)
    for row in table.rows:
        for cell in row.cells:
            _no_spacing(cell)


def title(doc) -> None:
    para(doc, "", after=0)
    para(doc, "BÁO CÁO", bold=True, align=CENTER, after=0)
    para(doc, "Kết quả thực hiện công tác bình đẳng giới và vì sự tiến bộ của phụ nữ "
              "{{ period_name }}", bold=True, align=CENTER, after=0)
    para(doc, "_______________", bold=True, align=CENTER)
    tag(doc, "{%p if letter_number %}")
    body(doc, "Thực hiện Công văn số {{ letter_number }} của {{ parent_name or '…' }} về việc "
              "báo cáo kết quả thực hiện công tác bình đẳng giới và vì sự tiến bộ của phụ nữ, "
              "{{ unit_name }} báo cáo như sau:")
    tag(doc, "{%p else %}")
    body(doc, f"Thực hiện Công văn số {GAP} ngày {GAP} của {GAP} về việc báo cáo kết quả thực "
              "hiện công tác bình đẳng giới và vì sự tiến bộ của phụ nữ, {{ unit_name }} báo "
              "cáo như sau:")
    tag(doc, "{%p endif %}")


def items(doc, name: str, empty: str = GAP) -> None:
    """One "- …" paragraph per item of a list, or the gap when it is empty."""
    tag(doc, f"{{%p for x in {name} %}}")
    body(doc, "- {{ x }}")
    tag(doc, "{%p endfor %}")
    tag(doc, f"{{%p if not {name} %}}")
    body(doc, empty)
    tag(doc, "{%p endif %}")


def section_one(doc) -> None:
    heading(doc, "I. ĐẶC ĐIỂM TÌNH HÌNH")
    tag(doc, "{%p if has_profile %}")
    body(doc, "Tổng số cán bộ, công chức, viên chức và người lao động: {{ n.staff }} người, "
              "trong đó nữ {{ n.staff_women }} người (chiếm {{ n.staff_women_pct }}); lãnh đạo "
              "chủ chốt: {{ n.leaders }} người, trong đó nữ {{ n.leaders_women }} người (chiếm "
              "{{ n.leaders_women_pct }}).{% if many_units %} Số liệu tổng hợp của "
              "{{ n.profiled_units }}/{{ n.units }} cơ quan, đơn vị đã cập nhật.{% endif %}")
    tag(doc, "{%p else %}")
    body(doc, f"Tổng số cán bộ, công chức, viên chức và người lao động: {GAP} người, trong đó "
              f"nữ {GAP} người; lãnh đạo chủ chốt: {GAP} người, trong đó nữ {GAP} người.")
    tag(doc, "{%p endif %}")
    body(doc, "Ban Vì sự tiến bộ của phụ nữ: thành phần, kiện toàn Ban trong kỳ:")
    items(doc, "ban_documents")


def section_two(doc) -> None:
    heading(doc, "II. KẾT QUẢ THỰC HIỆN")
    heading(doc, "1. Công tác lãnh đạo, chỉ đạo, ban hành văn bản")
    tag(doc, "{%p if documents %}")
    body(doc, "Trong kỳ, đã ban hành {{ n.documents }} văn bản chỉ đạo, hướng dẫn triển khai "
              "công tác bình đẳng giới và vì sự tiến bộ của phụ nữ:")
    tag(doc, "{%p endif %}")
    items(doc, "documents")
    heading(doc, "2. Lồng ghép vấn đề bình đẳng giới trong xây dựng văn bản quy phạm pháp luật")
    body(doc, "Chủ trì xây dựng {{ n.drafted }} văn bản quy phạm pháp luật, đề án; trong đó "
              "{{ n.mainstreamed }} văn bản, đề án có lồng ghép vấn đề bình đẳng giới.")
    heading(doc, "3. Công tác thông tin, truyền thông")
    body(doc, "- Đăng tải {{ n.articles }} tin, bài về bình đẳng giới (chi tiết theo tháng tại "
              "Biểu 4).")
    body(doc, "- Tổ chức {{ n.communication }} hoạt động tuyên truyền (chuyên đề: "
              "{{ n.dedicated }}; lồng ghép: {{ n.integrated }}) với {{ n.participants }} lượt "
              "người tham dự, trong đó nữ {{ n.participants_women }} lượt (chi tiết tại Biểu 2).")
    tag(doc, "{%p if organisers %}")
    body(doc, "- Theo đơn vị tổ chức: {{ organisers }}.")
    tag(doc, "{%p endif %}")
    heading(doc, "4. Công tác đào tạo, bồi dưỡng, tập huấn")
    body(doc, "- Tổ chức {{ n.classes }} lớp bồi dưỡng, tập huấn với {{ n.attendances }} lượt "
              "người tham dự, trong đó nữ {{ n.training_women }} lượt.")
    body(doc, "- Cử {{ n.sent }} lượt cán bộ tham gia bồi dưỡng, tập huấn do cơ quan, đơn vị "
              "khác tổ chức, trong đó nữ {{ n.sent_women }} lượt (chi tiết tại Biểu 3).")
    heading(doc, "5. Công tác cán bộ nữ")
    tag(doc, "{%p if has_profile %}")
    body(doc, "Số người trong quy hoạch các chức danh lãnh đạo, quản lý: {{ n.pool }} người, "
              "trong đó nữ {{ n.pool_women }} người (chiếm {{ n.pool_women_pct }}); cán bộ nữ "
              "trong quy hoạch đã được đào tạo, bồi dưỡng: {{ n.pool_women_trained }} người "
              "(đạt {{ n.pool_women_trained_pct }}). Cơ quan, đơn vị có lãnh đạo chủ chốt là "
              "nữ: {{ n.units_with_woman_leader }}/{{ n.profiled_units }} (chi tiết tại Biểu 1).")
    tag(doc, "{%p else %}")
    body(doc, GAP)
    tag(doc, "{%p endif %}")
    heading(doc, "6. Công tác phòng ngừa, ứng phó với bạo lực trên cơ sở giới; xây dựng, nhân "
                 "rộng mô hình")
    body(doc, "- Phát hiện {{ n.detected }} vụ việc, chuyển tuyến {{ n.referred }} vụ việc; hỗ "
              "trợ {{ n.supported }} người, trong đó {{ n.supported_women }} phụ nữ, trẻ em gái.")
    body(doc, "- Mô hình, sáng kiến: {{ n.models }}{% if models %} ({{ models }}){% endif %}.")
    heading(doc, "7. Công tác kiểm tra, giám sát, thi đua, khen thưởng")
    body(doc, "- Tổ chức {{ n.inspections }} cuộc kiểm tra, giám sát, sơ kết, tổng kết tại "
              "{{ n.inspected_units }} lượt cơ quan, đơn vị.")
    body(doc, "- Khen thưởng: {{ n.commendations }} quyết định, {{ n.collectives }} tập thể và "
              "{{ n.individuals }} cá nhân, trong đó nữ {{ n.commended_women }} người.")
    heading(doc, "8. Kinh phí")
    body(doc, "Kinh phí dự toán: {{ n.planned }} đồng; đã chi: {{ n.spent }} đồng (chi tiết tại "
              "Biểu 5).")
    heading(doc, "9. Hợp tác quốc tế")
    body(doc, "{{ n.cooperation }} hoạt động hợp tác quốc tế; kinh phí: "
              "{{ n.cooperation_amount }} đồng.")


def section_three(doc) -> None:
    heading(doc, "III. KẾT QUẢ THỰC HIỆN CÁC MỤC TIÊU, CHỈ TIÊU")
    grid(doc, [12, 40, 12, 17, 23, 19, 19, 23],
         ["STT", "Chỉ tiêu", "ĐVT", "Chỉ tiêu giao", "Kết quả kỳ báo cáo", "Cùng kỳ",
          "Đánh giá", "Nguyên nhân"],
         ["{{ t.stt }}", "{{ t.name }}", "{{ t.unit }}", "{{ t.level }}", "{{ t.value }}",
          "{{ t.before }}", "{{ t.verdict }}", "{{ t.reason }}"],
         "t in targets", 11, numbers_from=3)
    para(doc, "", after=0)


def sections_four_to_six(doc) -> None:
    heading(doc, "IV. ĐÁNH GIÁ CHUNG")
    heading(doc, "1. Ưu điểm")
    body(doc, GAP)
    heading(doc, "2. Hạn chế, khó khăn, vướng mắc")
    tag(doc, "{%p if not_met %}")
    body(doc, "- Các chỉ tiêu chưa đạt: {{ not_met }}.")
    tag(doc, "{%p endif %}")
    items(doc, "difficulties")
    heading(doc, "3. Nguyên nhân")
    items(doc, "causes")
    heading(doc, "V. PHƯƠNG HƯỚNG, NHIỆM VỤ KỲ TỚI")
    body(doc, GAP)
    heading(doc, "VI. ĐỀ XUẤT, KIẾN NGHỊ")
    items(doc, "proposals")
    body(doc, "Trên đây là báo cáo kết quả thực hiện công tác bình đẳng giới và vì sự tiến bộ "
              "của phụ nữ {{ period_name }} của {{ unit_name }}./.")


def signature(doc) -> None:
    table = doc.add_table(rows=1, cols=2)
    _widths(table, [70, TEXT_WIDTH - 70])
    left, right = table.rows[0].cells
    _style(left.paragraphs[0].add_run("Nơi nhận:"), True, True, 12)
    para(left, "- {{ parent_name or '…' }} (để báo cáo);", size=11, after=0)
    para(left, "- Thành viên Ban;", size=11, after=0)
    para(left, "- Lưu: VT.", size=11, after=0)
    right.paragraphs[0].alignment = CENTER
    _style(right.paragraphs[0].add_run("TM. BAN VÌ SỰ TIẾN BỘ CỦA PHỤ NỮ"), True, False, 13)
    para(right, "TRƯỞNG BAN", bold=True, align=CENTER, size=13, after=0)
    for _ in range(4):
        para(right, "", after=0)
    para(right, GAP, bold=True, align=CENTER, after=0)
    for cell in (left, right):
        _no_spacing(cell)


def annexes(doc) -> None:
    """Each annex on a page of its own; their rows and headings come from the code."""
    tag(doc, "{%p for a in annexes %}")
    p = para(doc, "Biểu {{ a.number }}", bold=True, align=RIGHT, after=0)
    p.paragraph_format.page_break_before = True
    para(doc, "{{ a.title|upper }}", bold=True, align=CENTER, after=0)
    para(doc, "(Kèm theo Báo cáo số …/BC-… của {{ unit_name }}; kỳ báo cáo: {{ period_name }})",
         italic=True, align=CENTER, size=13)
    grid(doc, [12, 58, 19, 25, 25, 26],
         ["STT", "Nội dung", "ĐVT", "{{ a.columns[0] }}", "{{ a.columns[1] }}",
          "{{ a.columns[2] }}"],
         ["{{ r.stt }}", "{{ r.label }}", "{{ r.unit }}", "{{ r.figures[0] }}",
          "{{ r.figures[1] }}", "{{ r.figures[2] }}"],
         "r in a.rows", 11, numbers_from=3)
    tag(doc, "{%p if a.note %}")
    para(doc, "Ghi chú: {{ a.note }}", italic=True, size=12)
    tag(doc, "{%p endif %}")
    tag(doc, "{%p endfor %}")


def main() -> None:
    doc = Document()
    setup(doc)
    header_block(doc)
    title(doc)
    section_one(doc)
    section_two(doc)
    section_three(doc)
    sections_four_to_six(doc)
    signature(doc)
    annexes(doc)
    doc.core_properties.title = "Báo cáo kết quả thực hiện công tác bình đẳng giới"
    doc.save(OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
