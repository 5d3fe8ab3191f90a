"""The duty, deadline and calendar commands of `vstbpn` (plain tests: the CLI runs its own loop)."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime
from pathlib import Path

import pytest
from icalendar import Calendar as ICalendar
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.context import AppContext
from bot.models import GroupChat, Role
from bot.services import members, units
from tests.conftest import VN, make_settings

runner = CliRunner()
JOINED = datetime(2026, 1, 5, 9, tzinfo=VN)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite file the CLI uses, holding a province with a department below it.

    Unit 1 "Sở Nội vụ": admin Lan, focal point Hoa, a group chat; unit 2 "Phòng A" below it:
    member Nam. Everyone joined on 5/1/2026.
    """
    path = tmp_path / "cli.db"
    monkeypatch.setenv("VSTBPN_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.delenv("VSTBPN_TELEGRAM_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env

    async def setup() -> None:
        ctx = await AppContext.create(make_settings(f"sqlite+aiosqlite:///{path}"))
        try:
            async with ctx.sessions() as session, session.begin():
                top = await units.add_unit(session, "Sở Nội vụ", JOINED)
                below = await units.add_unit(session, "Phòng A", JOINED, top.id)
                for unit_id, role, name in [(top.id, Role.admin, "Nguyễn Thị Lan"),
                                            (top.id, Role.focal, "Lê Thị Hoa"),
                                            (below.id, Role.member, "Trần Văn Nam")]:
                    await members.register(
                        session, unit_id=unit_id, role=role, full_name=name, language="vi",
                        channel="telegram", external_id=name, chat_id=name, now=JOINED,
                    )
                session.add(GroupChat(unit_id=top.id, channel="telegram", chat_id="-100",
                                      title="Ban VSTBPN Sở", created_at=JOINED))
        finally:
            await ctx.close()

    asyncio.run(setup())
    return str(path)


def run(*args: str, ok: bool = True) -> str:
    result = runner.invoke(cli, list(args))
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 2, result.output
    return result.output


def sends(*args: str) -> list[dict]:
    out = run("calendar", *args, "--json")
    return [json.loads(line) for line in out.splitlines()]


def test_calendar_dry_run_lists_every_reminder_in_the_range(db) -> None:
    rows = sends("--unit", "1", "--from", "2026-03-01", "--to", "2026-03-10")
    got = [(r["send_at"], r["stage"], r["kind"], r["duty_code"], r["due_on"], r["recipient"],
            r["role"]) for r in rows]
    lan, hoa, group = ("Nguyễn Thị Lan", "admin"), ("Lê Thị Hoa", "focal"), ("Ban VSTBPN Sở",
                                                                           "group")
    article, women = ("monthly_article", "2026-02-27"), ("womens_day_0803", "2026-03-06")
    expected = [
        # February's article was due Fri 27/2 (28/2 is a Saturday); "+2" is Sunday 1/3, so it
        # goes out on Monday 2/3 to the focal point, who answers for it, and escalates to the
        # admin.
        ("2026-03-02T08:00:00+07:00", "overdue-2", "reminder", *article, *hoa),
        ("2026-03-02T08:00:00+07:00", "overdue-2", "escalation", *article, *lan),
        # 8/3 concerns everyone, and the unit posts in its group: the group post replaces the
        # private reminders. 8/3 is a Sunday: due Friday 6/3; three days before is Tuesday 3/3.
        ("2026-03-03T08:00:00+07:00", "before-3", "group", *women, *group),
        # The focal point's digest of who has not answered: the working day before.
        ("2026-03-05T08:00:00+07:00", "digest", "focal", *women, *hoa),
        ("2026-03-06T08:00:00+07:00", "due", "group", *women, *group),
        # "+2" is Sunday 8/3 → Monday 9/3.
        ("2026-03-09T08:00:00+07:00", "overdue-2", "group", *women, *group),
    ]
    assert sorted(got) == sorted(expected)
    first = next(r for r in rows if r["kind"] == "focal")
    assert first["date"] == "2026-03-05" and first["time"] == "08:00"
    assert first["duty"] == ("Lồng ghép tuyên truyền về bình đẳng giới trong các hoạt động kỷ "
                             "niệm Ngày Quốc tế Phụ nữ 8/3 năm 2026")
    assert isinstance(first["member_id"], int)
    assert next(r for r in rows if r["kind"] == "group")["member_id"] is None
    # --to is inclusive: a range ending on 8/3 leaves out Monday 9/3.
    assert all(r["date"] <= "2026-03-08"
               for r in sends("--unit", "1", "--from", "2026-03-01", "--to", "2026-03-08"))


def test_calendar_table_and_ics_export(db, tmp_path: Path) -> None:
    ics = tmp_path / "lich.ics"
    out = run("calendar", "--unit", "1", "--from", "2026-03-01", "--to", "2026-03-10",
              "--ics", str(ics))
    lines = out.splitlines()
    assert lines[0].split() == ["date", "time", "stage", "kind", "duty", "due", "recipient",
                                "role", "title"]
    row = next(line for line in lines if "digest" in line.split())
    assert row.split()[:6] == ["2026-03-05", "08:00", "digest", "focal", "womens_day_0803",
                               "2026-03-06"]
    assert "Lê Thị Hoa" in row
    assert "6 message(s) for unit 1 (Sở Nội vụ) from 2026-03-01 to 2026-03-10" in out

    cal = ICalendar.from_ical(ics.read_bytes())
    events = {str(e["SUMMARY"]): (e.decoded("DTSTART"), e.decoded("DTEND"))
              for e in cal.walk("VEVENT")}
    # Due dates in 1–10/3: only 8/3, on Friday 6/3 (the February article fell due on 27/2).
    title = ("Lồng ghép tuyên truyền về bình đẳng giới trong các hoạt động kỷ niệm Ngày Quốc tế "
             "Phụ nữ 8/3 năm 2026")
    assert events == {title: (date(2026, 3, 6), date(2026, 3, 7))}

    # A department below has no duties of its own here: member Nam gets only his reminders.
    rows = sends("--unit", "2", "--from", "2026-03-03", "--to", "2026-03-03")
    assert {(r["recipient"], r["kind"], r["duty_code"]) for r in rows} == {
        ("Trần Văn Nam", "reminder", "womens_day_0803")}


def test_calendar_refuses_bad_input(db) -> None:
    assert "--from must be a date" in run("calendar", "--unit", "1", "--from", "1/3/2026",
                                          "--to", "2026-03-10", ok=False)
    assert "--to is before --from" in run("calendar", "--unit", "1", "--from", "2026-03-10",
                                          "--to", "2026-03-01", ok=False)
    assert "no unit 9" in run("calendar", "--unit", "9", "--from", "2026-03-01", "--to",
                              "2026-03-10", ok=False)


def test_duty_list_and_set(db) -> None:
    rows = [json.loads(line) for line in run("duty", "list", "--unit", "1", "--json")
            .splitlines()]
    by_code = {r["code"]: r for r in rows}
    assert len(rows) == 17 and by_code["happiness_day_2003"]["enabled"] is False
    assert by_code["womens_day_0803"]["rule"] == "every year on 8/3"
    table = run("duty", "list", "--unit", "1")
    assert table.splitlines()[0].split()[:2] == ["code", "enabled"]
    assert "womens_day_0803" in table

    out = run("duty", "set", "--unit", "1", "womens_day_0803", "--stages", "-10,0",
              "--time", "9:30", "--shift", "next")
    assert "duty womens_day_0803 changed" in out and "reminders -10,0 at 09:30" in out
    rows = sends("--unit", "1", "--from", "2026-02-20", "--to", "2026-03-10")
    women = sorted((r["send_at"], r["stage"]) for r in rows
                   if r["duty_code"] == "womens_day_0803")
    # Shift "next": due Monday 9/3; ten days before is Friday 27/2 (posted in the group);
    # the focal point's digest on Friday 6/3.
    assert women == [("2026-02-27T09:30:00+07:00", "before-10"),
                     ("2026-03-06T09:30:00+07:00", "digest"),
                     ("2026-03-09T09:30:00+07:00", "due")]

    # Invalid settings: exit code 2, a message, nothing changed.
    assert "nothing changed" in run("duty", "set", "--unit", "1", "womens_day_0803",
                                    "--day", "30", "--month", "2", ok=False)
    assert "nothing changed" in run("duty", "set", "--unit", "1", "womens_day_0803",
                                    "--disable", "--time", "25:00", ok=False)
    assert "no duty" in run("duty", "set", "--unit", "1", "nope", "--disable", ok=False)
    assert "nothing to change" in run("duty", "set", "--unit", "1", "womens_day_0803", ok=False)
    row = json.loads(run("duty", "list", "--unit", "1", "--json").splitlines()[1])
    assert (row["code"], row["enabled"], row["recurrence"]) == (
        "womens_day_0803", True, {"kind": "yearly", "month": 3, "day": 8})

    run("duty", "set", "--unit", "1", "womens_day_0803", "--disable")
    rows = sends("--unit", "1", "--from", "2026-03-01", "--to", "2026-03-10")
    assert {r["duty_code"] for r in rows} == {"monthly_article"}
    assert "womens_day_0803" not in run("duty", "list", "--unit", "1", "--enabled-only")


def test_duty_add_and_deadline_add(db) -> None:
    out = run("duty", "add", "--unit", "1", "--title", "Họp giao ban", "--monthly", "25",
              "--stages", "-1,0")
    assert "duty custom-1 added: Họp giao ban" in out and "every month, on day 25" in out
    out = run("duty", "add", "--unit", "1", "--title", "Kỷ niệm", "--yearly", "20/10", "--json")
    assert json.loads(out)["recurrence"] == {"kind": "yearly", "month": 10, "day": 20}
    assert "exactly one" in run("duty", "add", "--unit", "1", "--title", "X", ok=False)
    assert "invalid" in run("duty", "add", "--unit", "1", "--title", "X", "--yearly", "31/02",
                            ok=False)

    out = run("deadline", "add", "--unit", "1", "--title", "Báo cáo sơ kết", "--due",
              "2026-03-08", "--letter", "123/BNV-VP", "--subtree")
    assert "deadline deadline-1 added for unit 1 and the units below it" in out
    assert "due 2026-03-06 (2026-03-08 is not a working day" in out
    assert "--due must be a date" in run("deadline", "add", "--unit", "1", "--title", "X",
                                         "--due", "8/3/2026", ok=False)
    assert "needs a title" in run("deadline", "add", "--unit", "1", "--title", " ", "--due",
                                  "2026-03-08", ok=False)

    # The subtree deadline reaches the department below; the custom duty does not.
    rows = sends("--unit", "2", "--from", "2026-03-02", "--to", "2026-03-31")
    deadline = sorted((r["send_at"], r["stage"]) for r in rows
                      if r["duty_code"] == "deadline-1" and r["kind"] == "reminder")
    assert deadline == [("2026-03-03T08:00:00+07:00", "before-3"),
                        ("2026-03-06T08:00:00+07:00", "due"),
                        ("2026-03-09T08:00:00+07:00", "overdue-2")]
    assert all(r["duty_code"] != "custom-1" for r in rows)
    # Phòng A has no admin: its overdue deadline is escalated to the admin of the unit above.
    assert [(r["send_at"], r["recipient"]) for r in rows
            if r["duty_code"] == "deadline-1" and r["kind"] == "escalation"] == [
        ("2026-03-09T08:00:00+07:00", "Nguyễn Thị Lan")]
    custom = sorted({(r["send_at"], r["stage"]) for r in
                     sends("--unit", "1", "--from", "2026-03-02", "--to", "2026-03-31")
                     if r["duty_code"] == "custom-1"})
    # 25/3/2026 is a Wednesday: the day before (and the focal digest), and the day itself.
    assert custom == [("2026-03-24T08:00:00+07:00", "before-1"),
                      ("2026-03-24T08:00:00+07:00", "digest"),
                      ("2026-03-25T08:00:00+07:00", "due")]


def test_cli_times_are_the_units_local_minutes(db) -> None:
    row = json.loads(run("invite", "create", "--unit", "1", "--json"))
    assert len(row["expires_at"]) == 16 and row["expires_at"][10] == " "  # 2026-… 14:05
    members_out = run("member", "list", "--json").splitlines()
    assert json.loads(members_out[0])["joined_at"] == "2026-01-05 09:00"
