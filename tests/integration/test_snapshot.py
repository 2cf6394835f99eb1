"""The snapshot importer and the snapshot SubscriberSource, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from builders import NOW, number
from sqlalchemy import event, func, select

from campaigns.errors import ValidationError
from campaigns.model import SubscriberFacts, SubscriberStatus
from campaigns.ports import SubscriberSource
from campaigns.storage import orm
from campaigns.storage.bulk import load_reference
from campaigns.storage.snapshot import SqlAlchemySnapshotSource, import_snapshot
from flows.bootstrap import App

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "snapshot"
TABLES = {
    "subscribers": orm.Subscriber,
    "subscriber_services": orm.SubscriberService,
    "contact_history": orm.ContactHistory,
    "follow_ups": orm.FollowUp,
}


def seeded(app: App) -> App:
    """Branches GZ/SZ/FS and the service catalogue."""
    with app.engine.begin() as conn:
        load_reference(conn, now=NOW, agents=1)
    return app


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    """A CSV file with these lines."""
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def import_examples(app: App, **overrides: Any) -> dict[str, int]:
    """Import the example snapshot shipped in examples/snapshot/ and commit."""
    files: dict[str, Any] = {
        "subscribers": EXAMPLES / "subscribers.csv",
        "services": EXAMPLES / "services.csv",
        "history": EXAMPLES / "history.csv",
        "follow_ups": EXAMPLES / "follow_ups.csv",
    }
    files.update(overrides)
    with app.engine.begin() as conn:
        return import_snapshot(conn, **files)


def lookup(app: App, numbers: list[str]) -> dict[str, SubscriberFacts]:
    """Look numbers up through the snapshot source in a fresh session."""
    with app.session_factory() as session:
        source: SubscriberSource = SqlAlchemySnapshotSource(session)
        return source.lookup(numbers)


def table_counts(app: App) -> dict[str, int]:
    """Rows in each snapshot table."""
    with app.engine.connect() as conn:
        return {
            name: conn.scalar(select(func.count()).select_from(cls)) or 0
            for name, cls in TABLES.items()
        }


@contextmanager
def counted_queries(app: App) -> Iterator[list[str]]:
    """Collect the SQL statements the engine sends while inside the block."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(app.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(app.engine, "before_cursor_execute", record)


def lines(*rows: str) -> str:
    """CSV text with these rows."""
    return "".join(row + "\n" for row in rows)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A UTC timestamp."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --------------------------------------------------------------------------- round trip


def test_example_snapshot_round_trip(app: App) -> None:
    seeded(app)
    counts = import_examples(app)
    assert counts == {
        "subscribers": 5,
        "subscriber_services": 3,
        "contact_history": 3,
        "follow_ups": 1,
    }
    assert table_counts(app) == counts
    n1, n2, n3, n4, n5 = (f"+86138000000{i:02d}" for i in range(1, 6))
    facts = lookup(app, [n1, n2, n3, n4, n5, number(999)])
    assert facts == {
        n1: SubscriberFacts(
            n1,
            SubscriberStatus.ACTIVE,
            "family",
            "GZ",
            frozenset({"5G_PLUS_59", "VIDEO_VIP"}),
            has_follow_up=False,
            last_contacted_at=utc(2026, 11, 20, 2, 0),  # the later of its two contacts
        ),
        n2: SubscriberFacts(
            n2, SubscriberStatus.ACTIVE, "youth", "SZ", frozenset({"5G_PLUS_99"}), True, None
        ),
        n3: SubscriberFacts(n3, SubscriberStatus.SUSPENDED, "family", "GZ"),
        n4: SubscriberFacts(n4, SubscriberStatus.CANCELLED, None, "FS"),
        n5: SubscriberFacts(
            n5, SubscriberStatus.ACTIVE, "business", None, last_contacted_at=utc(2026, 11, 1, 2)
        ),
    }
    # Equal instants compare equal across zones; the zone itself must be UTC too.
    assert {f.last_contacted_at.tzinfo for f in facts.values() if f.last_contacted_at} == {UTC}


def test_naive_timestamps_are_shanghai_local_time(app: App, tmp_path: Path) -> None:
    seeded(app)
    n = number(1)
    with app.engine.begin() as conn:
        import_snapshot(
            conn,
            subscribers=write(tmp_path, "s.csv", f"msisdn,status,segment,branch\n{n},ACTIVE,,\n"),
            services=None,
            history=write(
                tmp_path, "h.csv", f"msisdn,contacted_at\n{n},2026-11-20 10:00\n{n},2026-11-19\n"
            ),
            follow_ups=write(tmp_path, "f.csv", f"msisdn,recorded_at\n{n},2026-01-01T00:00\n"),
        )
    assert lookup(app, [n])[n].last_contacted_at == utc(2026, 11, 20, 2, 0)
    with app.engine.connect() as conn:
        assert conn.scalar(select(orm.FollowUp.recorded_at)) == utc(2025, 12, 31, 16, 0)
        assert conn.scalar(select(orm.ContactHistory.source).limit(1)) == "operator"


def test_unknown_numbers_are_absent_even_with_history(app: App, tmp_path: Path) -> None:
    seeded(app)
    import_examples(
        app,
        history=write(tmp_path, "h.csv", f"msisdn,contacted_at\n{number(77)},2026-11-20\n"),
        follow_ups=write(tmp_path, "f.csv", f"msisdn,recorded_at\n{number(77)},2026-11-20\n"),
    )
    assert lookup(app, [number(77), number(78)]) == {}
    assert lookup(app, []) == {}


def test_lookup_is_set_based_over_many_chunks(app: App, tmp_path: Path) -> None:
    seeded(app)
    known = [number(i) for i in range(2_000)]
    subscribers = "msisdn,status,segment,branch\n" + "".join(
        f"{n},{'停机' if i % 7 == 0 else '正常'},seg{i % 3},{'GZ' if i % 2 else 'SZ'}\n"
        for i, n in enumerate(known)
    )
    services = "msisdn,service\n" + "".join(f"{n},VIDEO_VIP\n" for n in known[::5])
    history = "msisdn,contacted_at\n" + "".join(
        f"{n},2026-11-0{1 + i % 9}\n" for i, n in enumerate(known)
    )
    follow_ups = "msisdn,recorded_at\n" + "".join(f"{n},2026-06-01\n" for n in known[1::10])
    with app.engine.begin() as conn:
        counts = import_snapshot(
            conn,
            subscribers=write(tmp_path, "s.csv", subscribers),
            services=write(tmp_path, "v.csv", services),
            history=write(tmp_path, "h.csv", history),
            follow_ups=write(tmp_path, "f.csv", follow_ups),
            batch_rows=700,  # several COPY / executemany batches per file
        )
    assert counts == {
        "subscribers": 2_000,
        "subscriber_services": 400,
        "contact_history": 2_000,
        "follow_ups": 200,
    }
    unknown = [number(10_000 + i) for i in range(500)]
    asked = known + unknown + known[:100]  # repeats are looked up once
    with counted_queries(app) as queries:
        facts = lookup(app, asked)
    chunks = -(-len(known + unknown) // 900)
    assert len([q for q in queries if q.lstrip().upper().startswith("SELECT")]) <= 4 * chunks
    assert set(facts) == set(known)
    for i, n in enumerate(known):
        f = facts[n]
        assert f.status is (SubscriberStatus.SUSPENDED if i % 7 == 0 else SubscriberStatus.ACTIVE)
        assert f.segment == f"seg{i % 3}"
        assert f.branch_code == ("GZ" if i % 2 else "SZ")
        assert f.services == (frozenset({"VIDEO_VIP"}) if i % 5 == 0 else frozenset())
        assert f.has_follow_up is (i % 10 == 1)
        # Midnight in Shanghai is 16:00 UTC the day before.
        assert f.last_contacted_at == utc(2026, 10, 31, 16) + (
            utc(2026, 11, 1 + i % 9) - utc(2026, 11, 1)
        )


def test_gbk_and_bom_files_with_chinese_statuses(app: App, tmp_path: Path) -> None:
    seeded(app)
    a, b, c = number(1), number(2), number(3)
    text = f"MSISDN, Status ,segment,branch\n{a},正常,家庭,GZ\n{b},停机,,SZ\n{c},销户,,\n"
    with app.engine.begin() as conn:
        import_snapshot(
            conn,
            subscribers=write(tmp_path, "s.csv", text, "gbk"),
            services=write(tmp_path, "v.csv", f"msisdn,service\n{a},5G_PLUS_59\n", "utf-8-sig"),
            history=None,
            follow_ups=None,
        )
    facts = lookup(app, [a, b, c])
    assert {n: f.status for n, f in facts.items()} == {
        a: SubscriberStatus.ACTIVE,
        b: SubscriberStatus.SUSPENDED,
        c: SubscriberStatus.CANCELLED,
    }
    assert facts[a].segment == "家庭"
    assert facts[a].services == {"5G_PLUS_59"}


def test_text_with_tabs_newlines_and_backslashes_survives(app: App, tmp_path: Path) -> None:
    seeded(app)
    note = 'line one\tcol\nline two \\N back\\slash "quoted"'
    csv_note = note.replace('"', '""')
    with app.engine.begin() as conn:
        import_snapshot(
            conn,
            subscribers=None,
            services=None,
            history=write(
                tmp_path, "h.csv", f"msisdn,contacted_at,source\n{number(1)},2026-11-20,a\\b\n"
            ),
            follow_ups=write(
                tmp_path, "f.csv", f'msisdn,recorded_at,note\n{number(1)},2026-11-20,"{csv_note}"\n'
            ),
        )
    with app.engine.connect() as conn:
        assert conn.scalar(select(orm.FollowUp.note)) == note
        assert conn.scalar(select(orm.ContactHistory.source)) == "a\\b"


# --------------------------------------------------------------------------- bad rows

HEADER = "msisdn,status,segment,branch\n"
GOOD_SUBSCRIBERS = HEADER + "".join(f"{number(i)},ACTIVE,,GZ\n" for i in (1, 2, 3))
TWO_GOOD = f"{number(1)},ACTIVE,,GZ\n{number(2)},ACTIVE,,GZ\n"

BAD = [
    pytest.param(
        "subscribers",
        HEADER + TWO_GOOD + f"\n{number(3)},DORMANT,,GZ\n",
        5,  # the blank line still counts
        "status 'DORMANT' is not one of",
        id="unknown-status",
    ),
    pytest.param(
        "subscribers",
        HEADER + TWO_GOOD + "1380013,ACTIVE,,GZ\n",
        4,
        "msisdn '1380013' is not a phone number (INVALID_NUMBER)",
        id="bad-number",
    ),
    pytest.param(
        "subscribers",
        HEADER + TWO_GOOD + f"{number(3)},ACTIVE,,XX\n",
        4,
        "branch 'XX' is not a branch code (FS, GZ, SZ)",
        id="unknown-branch",
    ),
    pytest.param(
        "subscribers",
        HEADER + TWO_GOOD + f"{number(1)[3:]},ACTIVE,,GZ\n",
        4,
        f"msisdn {number(1)} is already in row 2",
        id="duplicate-number",
    ),
    pytest.param(
        "subscribers",
        HEADER + TWO_GOOD + f"{number(3)},ACTIVE,{'x' * 65},GZ\n",
        4,
        "segment is longer than 64 characters",
        id="long-segment",
    ),
    pytest.param(
        "subscribers",
        HEADER + TWO_GOOD + f"{number(3)},ACTIVE,GZ\n",
        4,
        "it has 3 cells, the header has 4",
        id="short-row",
    ),
    pytest.param(
        "subscribers",
        "msisdn,status,segmnt,branch\n",
        1,
        "the header must be msisdn,status,segment,branch",
        id="bad-header",
    ),
    pytest.param(
        "services",
        lines(
            "msisdn,service",
            f"{number(1)},5G_PLUS_59",
            f"{number(2)},VIDEO_VIP",
            f"{number(3)},5G_MAX",
        ),
        4,
        "service '5G_MAX' is not in the service catalogue",
        id="unknown-service",
    ),
    pytest.param(
        "services",
        lines(
            "msisdn,service",
            f"{number(1)},5G_PLUS_59",
            f"{number(2)},VIDEO_VIP",
            f"{number(9)},VIDEO_VIP",
        ),
        4,
        f"msisdn {number(9)} is not a subscriber of the snapshot",
        id="service-of-unknown-subscriber",
    ),
    pytest.param(
        "services",
        lines(
            "msisdn,service",
            f"{number(1)},5G_PLUS_59",
            f"{number(2)},VIDEO_VIP",
            f"{number(1)},5G_PLUS_59",
        ),
        4,
        f"{number(1)} already holds 5G_PLUS_59",
        id="duplicate-service",
    ),
    pytest.param(
        "history",
        lines(
            "msisdn,contacted_at",
            f"{number(1)},2026-11-20",
            f"{number(2)},2026-11-20",
            f"{number(3)},20/11/2026",
        ),
        4,
        "contacted_at '20/11/2026' is not an ISO 8601 timestamp",
        id="bad-history-timestamp",
    ),
    pytest.param(
        "history",
        lines(
            "msisdn,contacted_at",
            f"{number(1)},2026-11-20",
            f"{number(2)},2026-11-20",
            ",2026-11-20",
        ),
        4,
        "msisdn '(empty)' is not a phone number",
        id="empty-history-number",
    ),
    pytest.param(
        "follow_ups",
        lines(
            "msisdn,recorded_at",
            f"{number(1)},2026-11-20",
            f"{number(2)},2026-11-20",
            f"{number(3)},yesterday",
        ),
        4,
        "recorded_at 'yesterday' is not an ISO 8601 timestamp",
        id="bad-follow-up-timestamp",
    ),
]


@pytest.mark.parametrize(("kind", "text", "row", "reason"), BAD)
def test_a_bad_row_rejects_the_whole_import(
    app: App, tmp_path: Path, kind: str, text: str, row: int, reason: str
) -> None:
    seeded(app)
    import_examples(app)
    before = table_counts(app)
    files: dict[str, Any] = {
        "subscribers": write(tmp_path, "good_subscribers.csv", GOOD_SUBSCRIBERS),
        "services": None,
        "history": write(
            tmp_path, "good_history.csv", f"msisdn,contacted_at\n{number(1)},2026-11-20\n"
        ),
        "follow_ups": None,
    }
    files[kind] = write(tmp_path, f"{kind}.csv", text)
    with pytest.raises(ValidationError) as caught, app.engine.begin() as conn:
        # Batches of two: rows before the bad one have already been sent to the database.
        import_snapshot(conn, **files, batch_rows=2)
    message = str(caught.value)
    assert message.startswith(f"{kind}.csv row {row}: ")
    assert reason in message
    assert message.endswith("nothing was imported")
    # The old snapshot is untouched: the deletes and the loaded batches were rolled back.
    assert table_counts(app) == before
    assert lookup(app, ["+8613800000001"])["+8613800000001"].services == {"5G_PLUS_59", "VIDEO_VIP"}


def test_a_file_that_is_not_text_is_rejected(app: App, tmp_path: Path) -> None:
    seeded(app)
    path = tmp_path / "subscribers.csv"
    path.write_bytes(b"msisdn,status,segment,branch\n\xff\xfe\xfa\x80\x81\n")
    with pytest.raises(ValidationError, match="neither UTF-8 nor GBK"), app.engine.begin() as conn:
        import_snapshot(conn, subscribers=path, services=None, history=None, follow_ups=None)
    with pytest.raises(ValidationError, match="does not exist"), app.engine.begin() as conn:
        import_snapshot(
            conn, subscribers=tmp_path / "nope.csv", services=None, history=None, follow_ups=None
        )


# --------------------------------------------------------------------------- replace


def test_replace_swaps_only_the_tables_given(app: App, tmp_path: Path) -> None:
    seeded(app)
    import_examples(app)
    n1 = "+8613800000001"
    new_history = write(tmp_path, "h.csv", f"msisdn,contacted_at\n{n1},2026-11-24T08:00:00+08:00\n")
    with app.engine.begin() as conn:
        counts = import_snapshot(
            conn, subscribers=None, services=None, history=new_history, follow_ups=None
        )
    assert counts == {
        "subscribers": 0,
        "subscriber_services": 0,
        "contact_history": 1,
        "follow_ups": 0,
    }
    assert table_counts(app) == {
        "subscribers": 5,
        "subscriber_services": 3,
        "contact_history": 1,
        "follow_ups": 1,
    }
    assert lookup(app, [n1])[n1].last_contacted_at == utc(2026, 11, 24, 0)
    assert lookup(app, ["+8613800000005"])["+8613800000005"].last_contacted_at is None

    # Held services hang off subscriber ids, so replacing subscribers empties them too.
    with app.engine.begin() as conn:
        import_snapshot(
            conn,
            subscribers=write(tmp_path, "s.csv", f"msisdn,status,segment,branch\n{n1},停机,,SZ\n"),
            services=None,
            history=None,
            follow_ups=None,
        )
    assert table_counts(app) == {
        "subscribers": 1,
        "subscriber_services": 0,
        "contact_history": 1,
        "follow_ups": 1,
    }
    assert lookup(app, [n1, "+8613800000002"]) == {
        n1: SubscriberFacts(
            n1, SubscriberStatus.SUSPENDED, None, "SZ", last_contacted_at=utc(2026, 11, 24, 0)
        )
    }


def test_append_adds_rows_and_refuses_stored_subscribers(app: App, tmp_path: Path) -> None:
    seeded(app)
    import_examples(app)
    n1, new = "+8613800000001", number(42)
    with app.engine.begin() as conn:
        counts = import_snapshot(
            conn,
            subscribers=write(
                tmp_path, "s.csv", f"msisdn,status,segment,branch\n{new},ACTIVE,,FS\n"
            ),
            services=write(
                tmp_path, "v.csv", f"msisdn,service\n{new},CLOUD_DRIVE\n{n1},CLOUD_DRIVE\n"
            ),
            history=write(
                tmp_path, "h.csv", f"msisdn,contacted_at\n{n1},2026-11-24T08:00:00+08:00\n"
            ),
            follow_ups=None,
            replace=False,
        )
    assert counts["subscribers"] == 1 and counts["subscriber_services"] == 2
    assert table_counts(app) == {
        "subscribers": 6,
        "subscriber_services": 5,
        "contact_history": 4,
        "follow_ups": 1,
    }
    facts = lookup(app, [n1, new])
    assert facts[n1].services == {"5G_PLUS_59", "VIDEO_VIP", "CLOUD_DRIVE"}
    assert facts[n1].last_contacted_at == utc(2026, 11, 24, 0)
    assert facts[new].branch_code == "FS"

    again = write(tmp_path, "again.csv", f"msisdn,status,segment,branch\n{n1[3:]},ACTIVE,,GZ\n")
    with (
        pytest.raises(
            ValidationError,
            match=r"again.csv row 2: msisdn \+8613800000001 is already in the stored snapshot",
        ),
        app.engine.begin() as conn,
    ):
        import_snapshot(
            conn, subscribers=again, services=None, history=None, follow_ups=None, replace=False
        )
    held = write(tmp_path, "held.csv", f"msisdn,service\n{n1},VIDEO_VIP\n")
    with (
        pytest.raises(ValidationError, match="held.csv row 2: .* already holds VIDEO_VIP"),
        app.engine.begin() as conn,
    ):
        import_snapshot(
            conn, subscribers=None, services=held, history=None, follow_ups=None, replace=False
        )


def facts(app: App) -> dict[str, orm.SubscriberFacts]:
    """subscriber_facts by number, read in a fresh session."""
    with app.session_factory() as session:
        return {f.msisdn: f for f in session.scalars(select(orm.SubscriberFacts))}


def test_import_refreshes_subscriber_facts(app: App, tmp_path: Path) -> None:
    """Every import rebuilds the facts cleaning joins: services, last contact, follow-up."""
    seeded(app)
    import_examples(app)
    with app.session_factory() as session:
        ids = {c: i for c, i in session.execute(select(orm.Service.code, orm.Service.id))}
    got = facts(app)
    assert sorted(got) == [f"+861380000000{i}" for i in range(1, 6)]
    one = got["+8613800000001"]
    assert one.status is SubscriberStatus.ACTIVE and one.segment == "family"
    held = {int(x) for x in (one.services or "").strip(",").split(",")}
    assert held == {ids["5G_PLUS_59"], ids["VIDEO_VIP"]}
    assert one.services is not None and one.services.startswith(",") and one.services.endswith(",")
    assert one.last_contact == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # the later of two
    assert not one.follow_up
    assert got["+8613800000002"].follow_up and got["+8613800000002"].last_contact is None
    assert got["+8613800000003"].status is SubscriberStatus.SUSPENDED
    assert got["+8613800000004"].services is None

    # Replacing the subscribers alone drops held services too, and the facts follow; the
    # history of +8613800000005, no longer a subscriber, is no longer a fact.
    import_examples(
        app,
        subscribers=write(tmp_path, "s.csv", "msisdn,status,segment,branch\n13800000001,停机,,\n"),
        services=None,
        history=None,
        follow_ups=None,
    )
    got = facts(app)
    assert list(got) == ["+8613800000001"]
    assert got["+8613800000001"].status is SubscriberStatus.SUSPENDED
    assert got["+8613800000001"].services is None
    assert got["+8613800000001"].last_contact == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def test_failed_import_leaves_facts_as_they_were(app: App, tmp_path: Path) -> None:
    """A bad file rolls back the whole import, facts included."""
    seeded(app)
    import_examples(app)
    before = {m: (f.status, f.services) for m, f in facts(app).items()}
    bad = write(
        tmp_path,
        "s.csv",
        "msisdn,status,segment,branch\n13800000009,ACTIVE,,\n13800000010,UNKNOWN,,\n",
    )
    with pytest.raises(ValidationError):
        import_examples(app, subscribers=bad, services=None, history=None, follow_ups=None)
    assert {m: (f.status, f.services) for m, f in facts(app).items()} == before
