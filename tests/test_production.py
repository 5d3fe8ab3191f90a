"""Production: several `vstbpn run` processes on one PostgreSQL database, behind one proxy.

Every test runs real processes (tests/fakes/bot_process.py) in Telegram webhook mode against
the fake Bot API, on a PostgreSQL database of its own, created and dropped by the test. The
processes' clocks are moved to a working morning (T0) so reminders are inside the send window
whatever the day the tests run; time passes at its real pace.

Bounds (all generous; nothing else depends on timing): a process is healthy within 60 s of
its start; the clock has one leader within 15 s; a process exits within 10 s of SIGTERM; the
other process takes the clock over (and sends) within 30 s of the leader's loss; a webhook
update is answered within 30 s; reminders go out at Telegram's ~30 a second.

PostgreSQL only: skipped unless VSTBPN_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import math
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update

from bot import db
from bot.context import AppContext
from bot.models import OutboxMessage
from bot.views.reminders import render
from scheduler.clock import FakeClock
from scheduler.dispatcher import CONCURRENCY, Dispatcher
from scheduler.service import _LEADER_LOCK_ID
from scheduler.workdays import WorkCalendar
from tests.conftest import PG_ENV, VN, _create_pg_database, _drop_pg_database, make_settings
from tests.fakes.bot_process import BotProcess, sample
from tests.fakes.telegram_api import Call, FakeTelegramAPI
from tests.test_dispatcher import due_reminders, statuses

pytestmark = pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"{PG_ENV} is not set")

# The processes' "now" starts here: a Friday (a working day), inside the 08:00-17:00 window.
T0 = datetime(2026, 3, 13, 9, 0, tzinfo=VN)
FIRST_CHAT = 10_000  # members' chats: FIRST_CHAT, FIRST_CHAT + 1, ...
STRANGER_IDS = 900_000
STRANGERS = itertools.count(STRANGER_IDS)  # chats of people who are not members
BOT_ID = 424242  # one bot; each process gets its own token string so a send says who sent it
HEALTHY_WITHIN = 60.0
LEADER_WITHIN = 15.0
EXIT_WITHIN = 10.0
TAKEOVER_WITHIN = 30.0
ANSWER_WITHIN = 30.0


def token(name: str) -> str:
    return f"{BOT_ID}:PROCESS-{name}-secret"


def clock_offset() -> float:
    """Seconds from the real now to T0, for the processes started next."""
    return (T0 - datetime.now(UTC)).total_seconds()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    admin_url = os.environ[PG_ENV]
    url, name = await _create_pg_database(admin_url)
    try:
        yield url
    finally:
        await _drop_pg_database(admin_url, name)


def bot(name: str, url: str, tg_api: FakeTelegramAPI, tmp_path, offset: float) -> BotProcess:
    return BotProcess(name, database_url=url, bot_api_url=tg_api.base_url, token=token(name),
                      clock_offset=offset, cwd=tmp_path)


@contextlib.asynccontextmanager
async def running(*procs: BotProcess) -> AsyncIterator[None]:
    """Start the processes together; whatever happens, none is left running, and their logs
    are printed (pytest shows them when the test failed)."""
    try:
        await asyncio.gather(*(p.start() for p in procs))
        yield
    finally:
        await asyncio.gather(*(p.kill() for p in procs))
        for p in procs:
            print(p.log(last=400))


async def until(predicate, within: float, what: str, *procs: BotProcess):  # noqa: ASYNC109
    """Poll until true (its value), failing after ``within`` seconds with the processes' logs."""
    try:
        async with asyncio.timeout(within):
            while True:
                value = predicate()
                if inspect.isawaitable(value):
                    value = await value
                if value:
                    return value
                for p in procs:
                    if p.returncode is not None:
                        raise AssertionError(f"{p.name} exited ({p.returncode}) while waiting "
                                             f"for {what}\n{p.log(last=60)}")
                await asyncio.sleep(0.05)
    except TimeoutError:
        logs = "\n".join(p.log(last=60) for p in procs)
        raise AssertionError(f"not within {within} s: {what}\n{logs}") from None


async def one_leader(*procs: BotProcess) -> BotProcess:
    """The process whose /healthz says it runs the clock, once exactly one does."""
    async def single() -> BotProcess | None:
        flags = [await p.leader() for p in procs]
        return procs[flags.index(True)] if flags.count(True) == 1 and None not in flags else None
    return await until(single, LEADER_WITHIN, "exactly one leader", *procs)


class Delivered:
    """The messages the fake delivered, taken in as they come (its list of calls only grows),
    so that polling them costs little while thousands go out."""

    def __init__(self, tg_api: FakeTelegramAPI) -> None:
        self.tg_api = tg_api
        self._next = 0
        self._open: list[Call] = []  # received, not answered yet
        self._reminders: list[Call] = []
        self._replies: dict[object, str] = {}

    def _refresh(self) -> None:
        calls = self.tg_api.calls()
        new, self._next = calls[self._next:], len(calls)
        waiting, self._open = self._open + [c for c in new if c.method == "sendMessage"], []
        for call in waiting:
            if not call.completed:
                self._open.append(call)
            elif call.failed:
                continue
            elif isinstance(call.chat_id, int) and FIRST_CHAT <= call.chat_id < STRANGER_IDS:
                self._reminders.append(call)
            else:
                self._replies.setdefault(call.chat_id, str(call.params.get("text") or ""))

    def reminders(self, token: str | None = None) -> list[Call]:
        """Reminders delivered to members' chats (by the process with ``token``)."""
        self._refresh()
        return [c for c in self._reminders if token is None or c.token == token]

    def reply(self, chat_id: int) -> str | None:
        """The first message to a stranger's chat."""
        self._refresh()
        return self._replies.get(chat_id)


async def prepare(url: str, n: int) -> AppContext:
    """The database migrated, with n members on Telegram, each with one reminder due a
    minute before T0 (a deadline's due-day stage: not stale while the day lasts)."""
    assert WorkCalendar().is_working_day(T0.date())
    clock = FakeClock(T0 - timedelta(days=11))  # the deadline is set up before it is due
    app = await AppContext.create(make_settings(url), clock=clock)
    await due_reminders(app, clock, n, first_chat=FIRST_CHAT)
    async with app.sessions() as session, session.begin():
        due = T0 - timedelta(minutes=1)
        await session.execute(update(OutboxMessage).values(send_at=due, next_attempt_at=due))
    assert await statuses(app) == {"pending": n}
    return app


async def lock_holder(app: AppContext) -> int | None:
    """The server pid of the session holding the clock's advisory lock on this database."""
    async with app.engine.connect() as conn:
        pids = list(await conn.scalars(text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = 0 AND objid::bigint = :id AND objsubid = 1 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ), {"id": _LEADER_LOCK_ID}))
    assert len(pids) <= 1, pids
    return pids[0] if pids else None


async def terminate_backend(app: AppContext, pid: int) -> None:
    """pg_terminate_backend, then wait until the session is gone (as an outage would)."""
    async with app.engine.connect() as conn:
        assert await conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await conn.commit()

    async def gone() -> bool:
        async with app.engine.connect() as conn:
            return not await conn.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid})
    await until(gone, 10, f"backend {pid} gone")


class Strangers:
    """People who are not members write "xin chào" to the processes' webhooks in turn, one
    after the other, while the test goes on; each must get the stranger's answer."""

    def __init__(self, delivered: Delivered, procs: list[BotProcess]) -> None:
        self.delivered, self.procs = delivered, procs
        self.tg_api = delivered.tg_api
        self.posted: Counter[str] = Counter()
        self.latencies: list[float] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        for i in itertools.count():
            if self._stop.is_set():
                return
            proc = self.procs[i % len(self.procs)]
            chat = next(STRANGERS)
            started = time.monotonic()
            status = await proc.post_update(self.tg_api.make_message_update(chat, "xin chào"))
            assert status == 200, f"{proc.name} answered the webhook with {status}"
            self.posted[proc.name] += 1
            reply = await until(lambda chat=chat: self.delivered.reply(chat), ANSWER_WITHIN,
                                f"an answer to stranger {chat} (via {proc.name})", proc)
            assert "Để tham gia" in reply, reply
            self.latencies.append(time.monotonic() - started)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 0.3)

    async def stop(self) -> None:
        """Stop posting; raises what went wrong (an update left unanswered)."""
        self._stop.set()
        assert self._task is not None
        await self._task

    async def cancel(self) -> None:
        """For a test that failed: no task is left behind."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def per_chat(calls: list[Call]) -> Counter[int]:
    return Counter(int(c.chat_id) for c in calls)  # type: ignore[arg-type]


def check_delivery(calls: list[Call], n: int) -> int:
    """Every member got the reminder; at most the sends then under way (CONCURRENCY) went
    twice. Returns the repeats."""
    counts = per_chat(calls)
    assert set(counts) == set(range(FIRST_CHAT, FIRST_CHAT + n)), \
        f"{n - len(counts)} chats got nothing"
    twice = [chat for chat, k in counts.items() if k > 1]
    assert len(twice) <= CONCURRENCY and all(counts[chat] == 2 for chat in twice), twice
    return len(twice)


def no_errors(*procs: BotProcess) -> None:
    for p in procs:
        assert not p.errors(), f"{p.name} logged errors:\n" + "\n".join(p.errors()[:20])


async def test_two_processes_starting_together_on_an_empty_database(
    pg_url, tg_api, tmp_path
) -> None:
    """Both migrate at once (serialised by the migration lock) and come up: /healthz 200
    with the newest schema within 60 s, exactly one leads the clock within 15 s, and both
    exit 0 within 10 s of SIGTERM."""
    offset = clock_offset()
    a, b = bot("A", pg_url, tg_api, tmp_path, offset), bot("B", pg_url, tg_api, tmp_path, offset)
    async with running(a, b):
        started = time.monotonic()
        bodies = await asyncio.gather(a.wait_healthy(HEALTHY_WITHIN),
                                      b.wait_healthy(HEALTHY_WITHIN))
        healthy = time.monotonic() - started
        assert [body["migrations"] for body in bodies] == [db.SCHEMA_HEAD] * 2
        assert all(body["status"] == "ok" for body in bodies)
        leader = await one_leader(a, b)
        other = b if leader is a else a
        for _ in range(3):  # and it stays so
            assert await leader.leader() and not await other.leader()
            await asyncio.sleep(0.2)
        (a_rc, a_took), (b_rc, b_took) = await asyncio.gather(a.stop(EXIT_WITHIN),
                                                             b.stop(EXIT_WITHIN))
    print(f"both healthy after {healthy:.1f} s; exits {a_took:.2f} s, {b_took:.2f} s")
    assert (a_rc, b_rc) == (0, 0)
    no_errors(a, b)
    assert len(a.events("telegram_started")) == len(b.events("telegram_started")) == 1
    # One migrated the empty database; the other waited for the lock and found it done.
    migrated = [p.name for p in (a, b) if any("Running upgrade" in line for line in p.lines)]
    assert len(migrated) == 1, migrated


async def test_two_processes_2000_reminders_and_the_leaders_lock_session_killed(
    pg_url, tg_api, tmp_path
) -> None:
    """2,000 members with a reminder due; two processes; strangers write to both webhooks in
    turn throughout. Once the leader has sent 300, its lock session is terminated: it stops
    sending at once (at most the sends under way), the other takes the clock over and sends
    within 30 s, every chat gets its reminder, at most those under way twice, every stranger gets an
    answer within 30 s, and /metrics counts what each process did."""
    n = 2000
    offset = clock_offset()
    a = bot("A", pg_url, tg_api, tmp_path, offset)
    b = bot("B", pg_url, tg_api, tmp_path, offset)
    delivered = Delivered(tg_api)
    strangers = Strangers(delivered, [a, b])
    app = await prepare(pg_url, n)
    try:
        async with running(a, b):
            await asyncio.gather(a.wait_healthy(HEALTHY_WITHIN), b.wait_healthy(HEALTHY_WITHIN))
            started = time.monotonic()
            leader = await one_leader(a, b)
            other = b if leader is a else a
            strangers.start()

            await until(lambda: len(delivered.reminders(leader.token)) >= 300,
                        60, "300 reminders sent by the leader", a, b)
            pid = await lock_holder(app)
            assert pid is not None
            await terminate_backend(app, pid)
            killed = time.monotonic()
            seq_at_kill = len(tg_api.calls())
            assert await lock_holder(app) != pid
            await until(lambda: _says_leader(leader, False), 5,
                        f"{leader.name} no longer saying it leads", a, b)
            stepped_down = time.monotonic() - killed

            first_send = await until(
                lambda: next(iter(delivered.reminders(other.token)), None),
                TAKEOVER_WITHIN, "the other process sending", a, b)
            takeover = time.monotonic() - killed
            await until(lambda: _says_leader(other, True), 5, f"{other.name} saying it leads",
                        a, b)
            assert not await leader.leader()  # one leader at a time on /healthz
            await until(lambda: len(per_chat(delivered.reminders())) == n, 2 * n / 25,
                        "every chat reached", a, b)
            all_sent = time.monotonic() - started
            rate = len(delivered.reminders(other.token)) / (time.monotonic() - killed - takeover)
            await until(lambda: _all_sent(app, n), 10, "every outbox row recorded as sent", a, b)
            await until(lambda: _only_leader(other, leader), 25, "one leader again", a, b)
            await strangers.stop()

            sent = delivered.reminders()
            by_old = [c for c in sent if c.token == leader.token]
            by_new = [c for c in sent if c.token == other.token]
            assert len(by_old) + len(by_new) == len(sent)
            assert first_send.seq > seq_at_kill and all(c.seq > seq_at_kill for c in by_new)
            assert sum(c.seq > seq_at_kill for c in by_old) <= CONCURRENCY  # under way
            repeats = check_delivery(sent, n)
            assert await statuses(app) == {"sent": n}

            # Each process counts what it did itself (a run's sends once it has returned).
            async def sent_counted() -> bool:
                pages = [await p.metrics() for p in (a, b)]
                return sum(sample(page, "vstbpn_reminders_total", event="sent")
                           for page in pages) == n
            await until(sent_counted, 10, "every reminder counted on /metrics", a, b)
            pages = {p.name: await p.metrics() for p in (a, b)}
            for p in (a, b):
                assert sample(pages[p.name], "vstbpn_updates_total", channel="telegram",
                              outcome="ok") == strangers.posted[p.name]
            assert sum(sample(page, "vstbpn_reminders_total", event="sent")
                       for page in pages.values()) == n
            assert sample(pages[other.name], "vstbpn_reminders_total", event="sent") >= \
                len(by_new) - repeats
            assert sample(pages[other.name], "vstbpn_leader") == 1
            assert sample(pages[leader.name], "vstbpn_leader") == 0

            (a_rc, a_took), (b_rc, b_took) = await asyncio.gather(
                a.stop(EXIT_WITHIN), b.stop(EXIT_WITHIN))
        assert (a_rc, b_rc) == (0, 0)
        no_errors(a, b)
        assert leader.events("scheduler_leader_lost")
        print(f"{leader.name} said it no longer leads {stepped_down:.2f} s after the kill; "
              f"takeover (kill -> first send by {other.name}): {takeover:.1f} s; "
              f"{len(by_old)} sent by {leader.name}, {len(by_new)} by {other.name}, "
              f"{repeats} repeated; all {n} in {all_sent:.1f} s ({other.name}: {rate:.1f}/s); "
              f"{sum(strangers.posted.values())} strangers answered, slowest in "
              f"{max(strangers.latencies):.2f} s; exits {a_took:.2f} s, {b_took:.2f} s")
        assert strangers.posted[a.name] >= 5 and strangers.posted[b.name] >= 5
        assert takeover <= TAKEOVER_WITHIN
    finally:
        await strangers.cancel()
        await app.close()


async def _all_sent(app: AppContext, n: int) -> bool:
    return await statuses(app) == {"sent": n}


async def _only_leader(leader: BotProcess, other: BotProcess) -> bool:
    return await leader.leader() is True and await other.leader() is False


async def _says_leader(p: BotProcess, leading: bool) -> bool:
    return await p.leader() is leading


async def test_sigterm_to_the_leader_mid_dispatch(pg_url, tg_api, tmp_path) -> None:
    """400 reminders due; two processes. SIGTERM to the leader once it has sent 120 (in its
    second batch of claims): it sends at most the messages under way, exits 0 within 10 s and
    hands back what it had claimed; the other process takes the clock over within 30 s of that
    exit and delivers the rest: nothing lost, at most those under way twice."""
    n = 400
    offset = clock_offset()
    a = bot("A", pg_url, tg_api, tmp_path, offset)
    b = bot("B", pg_url, tg_api, tmp_path, offset)
    delivered = Delivered(tg_api)
    app = await prepare(pg_url, n)
    try:
        async with running(a, b):
            await asyncio.gather(a.wait_healthy(HEALTHY_WITHIN), b.wait_healthy(HEALTHY_WITHIN))
            leader = await one_leader(a, b)
            other = b if leader is a else a
            await until(lambda: len(delivered.reminders(leader.token)) >= 120,
                        60, "120 reminders sent by the leader", a, b)
            seq_at_sigterm = len(tg_api.calls())
            rc, took = await leader.stop(EXIT_WITHIN)
            exited = time.monotonic()
            seq_at_exit = len(tg_api.calls())
            assert rc == 0
            first_send = await until(
                lambda: next(iter(delivered.reminders(other.token)), None),
                TAKEOVER_WITHIN, "the other process sending", other)
            takeover = time.monotonic() - exited
            await until(lambda: _all_sent(app, n), TAKEOVER_WITHIN + n / 25,
                        "every outbox row recorded as sent", other)
            sent = delivered.reminders()
            by_old = [c for c in sent if c.token == leader.token]
            by_new = [c for c in sent if c.token == other.token]
            assert first_send.seq > seq_at_exit
            # The sends under way when the signal came, or ones whose check came just before.
            after_sigterm = sum(c.seq > seq_at_sigterm for c in by_old)
            assert after_sigterm <= 2 * CONCURRENCY
            repeats = check_delivery(sent, n)
            other_rc, other_took = await other.stop(EXIT_WITHIN)
        assert other_rc == 0
        no_errors(a, b)
        print(f"{leader.name} exited {took:.2f} s after SIGTERM, having sent {len(by_old)} "
              f"({after_sigterm} after it); "
              f"{other.name} sent its first {takeover:.1f} s after that exit, {len(by_new)} in "
              f"all; {repeats} repeated; {other.name} exited in {other_took:.2f} s")
    finally:
        await app.close()


async def test_a_claim_takes_one_batch(pg_url) -> None:
    """On PostgreSQL the dispatcher claims one batch (100 rows) at a time, not every due row:
    what a process holds when it dies, or is stopped, waits out its lease."""
    app = await prepare(pg_url, 250)
    try:
        dispatcher = Dispatcher(app, [], render)
        app.clock.set(T0)  # type: ignore[attr-defined]
        async with app.transaction() as session:
            claimed = await dispatcher._claim(session, T0, "one-token")
        assert len(claimed) == dispatcher.batch == 100
        assert await statuses(app) == {"sending": 100, "pending": 150}
    finally:
        await app.close()


class Forwarder:
    """A TCP forwarder to PostgreSQL that the test can take down (cutting every connection
    through it) and bring back on the same port: a database outage, seen from the bot."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()
        self._server = None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, ConnectionError):
                pass
            finally:
                dst.transport.abort()

        try:
            await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))
        finally:
            self._writers -= {writer, up_writer}


async def test_healthz_follows_the_database(pg_url, tg_api, tmp_path) -> None:
    """A process whose database is reached through a forwarder: /healthz 200, then 503
    "database unreachable" within 10 s of the forwarder going down (its connections cut),
    then 200 again within 10 s of its return; the process answers updates before and after,
    and /metrics counts them, served during the outage too (the lag then unknown: NaN); it
    exits 0 within 10 s of SIGTERM."""
    from sqlalchemy.engine import make_url

    target = make_url(pg_url)
    forwarder = Forwarder(target.host or "127.0.0.1", target.port or 5432)
    await forwarder.start()
    url = target.set(drivername="postgresql", port=forwarder.port).render_as_string(
        hide_password=False)
    p = bot("A", url, tg_api, tmp_path, clock_offset())
    delivered = Delivered(tg_api)
    try:
        async with running(p):
            body = await p.wait_healthy(HEALTHY_WITHIN)
            assert body["status"] == "ok" and body["migrations"] == db.SCHEMA_HEAD
            before = await p.metrics()
            await _stranger_answered(delivered, p)

            await forwarder.stop()
            cut = time.monotonic()
            down = await until(lambda: _health_is(p, 503), 10, "/healthz 503", p)
            assert down["status"] == "database unreachable", down
            outage_seen = time.monotonic() - cut
            await asyncio.sleep(1)  # still unhealthy while the database is away
            assert (await p.healthz() or (0, {}))[0] == 503
            during = await p.metrics()  # served all the same: the counters matter now
            assert math.isnan(sample(during, "vstbpn_outbox_lag_seconds"))  # unknown
            assert sample(during, "vstbpn_updates_total", channel="telegram", outcome="ok") == \
                sample(before, "vstbpn_updates_total", channel="telegram", outcome="ok") + 1

            await forwarder.start()
            back = time.monotonic()
            up = await until(lambda: _health_is(p, 200), 10, "/healthz 200 again", p)
            assert up["status"] == "ok" and up["migrations"] == db.SCHEMA_HEAD
            recovered = time.monotonic() - back
            await _stranger_answered(delivered, p)

            after = await p.metrics()
            assert sample(after, "vstbpn_updates_total", channel="telegram", outcome="ok") == \
                sample(before, "vstbpn_updates_total", channel="telegram", outcome="ok") + 2
            assert sample(after, "vstbpn_handler_seconds_count", channel="telegram") >= 2
            assert sample(after, "vstbpn_outbox_lag_seconds") == 0  # known again: none due
            rc, took = await p.stop(EXIT_WITHIN)
        assert rc == 0
        print(f"503 {outage_seen:.2f} s after the cut, 200 {recovered:.2f} s after the return; "
              f"exit {took:.2f} s")
    finally:
        with contextlib.suppress(AssertionError):
            await forwarder.stop()


async def _health_is(p: BotProcess, status: int) -> dict | None:
    answer = await p.healthz()
    return answer[1] if answer is not None and answer[0] == status else None


async def _stranger_answered(delivered: Delivered, p: BotProcess) -> None:
    chat = next(STRANGERS)
    assert await p.post_update(delivered.tg_api.make_message_update(chat, "xin chào")) == 200
    reply = await until(lambda: delivered.reply(chat), ANSWER_WITHIN,
                        f"an answer to stranger {chat}", p)
    assert "Để tham gia" in reply
