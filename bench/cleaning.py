"""End-to-end list cleaning on PostgreSQL: file -> cleaned contacts + ledger, three figures.

It creates a fresh database (bench_cleaning_<random>), migrates it, generates the operator's
data inside PostgreSQL (generate_series: subscribers, held services, contact history,
follow-ups, DNC, and one live campaign of another offer with contacts and call attempts,
REFUSED ones among them), writes a messy CSV list to a temp dir, and drops both at the end
(--keep-db keeps the database). Nothing is cached between runs.

  Figure 1  file -> cleaned contacts + ledger stored, committed: fastload.load_list with the
            policy and the first call's time (the numbers COPYed into a temporary table,
            every rule evaluated there in one statement, each row COPYed once into contacts
            when kept or list_exclusions when excluded). --two-step measures what a
            submitted request goes through instead: load_list with the policy but no due
            time (kept rows PENDING, as services.submit_request stores them), committed,
            then setclean.tally_set_based over the stored list (as services.clean does).
            Normalising runs in --workers processes (1 by default, so it overlaps the
            reading and COPY).
            Each run is a child process, so its peak RSS (VmHWM, plus its normalising
            workers' peak) is its own; median wall time over --runs.
  Figure 2  the naive pipeline on a --naive-rows slice of the same file: phonenumbers
            parse/validate/format per row, one SELECT per check per row, one ORM insert and
            flush per row; its time per row against Figure 1's.
  Figure 3  campaigns.fastphone.normalise_columns (what the loader calls) against phonenumbers
            on bench/normaliser.py's list (re-measured here, same generator).

    .venv/bin/python bench/cleaning.py                       # the issue's sizes
    .venv/bin/python bench/cleaning.py --rows 20000 --subscribers 100000 --runs 2   # quick
    .venv/bin/python bench/cleaning.py --keep-db --list /tmp/list.csv --runs 1 --naive-rows 0
    # figure 1 again on the kept data (--db skips generating and keeps the database):
    .venv/bin/python bench/cleaning.py --db bench_cleaning_XXXXXXXX --list /tmp/list.csv
        --naive-rows 0 --normaliser-rows 0
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import phonenumbers
from sqlalchemy import Connection, create_engine, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from campaigns.intake import open_list  # noqa: E402
from campaigns.ledger import ledger  # noqa: E402
from campaigns.model import CampaignState, CleaningPolicy, ContactState  # noqa: E402
from campaigns.storage import orm  # noqa: E402
from campaigns.storage.bulk import load_reference  # noqa: E402
from campaigns.storage.db import create_database, drop_database  # noqa: E402
from campaigns.storage.facts import refresh_facts  # noqa: E402
from campaigns.storage.fastload import load_list  # noqa: E402
from campaigns.storage.setclean import tally_set_based  # noqa: E402

ADMIN_URL = os.environ.get(
    "OUTBOUND_BENCH_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
WINDOW_START = date(2026, 11, 26)
DUE = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 09:00 Asia/Shanghai, the window's first call
TARGETS = {"wall": 8.0, "rss_mb": 1536.0, "ratio": 15.0}
POLICY = CleaningPolicy(segments=("family", "youth", "business"))


# --------------------------------------------------------------------------- data


def _msisdn_sql(i: str) -> str:
    """The subscriber number for index i: 11-digit mobiles spread over 130-139."""
    return f"'+8613' || lpad((({i})::bigint * 7919 % 1000000000)::text, 9, '0')"


def _msisdn(i: int) -> str:
    return f"+8613{i * 7919 % 1_000_000_000:09d}"


def generate(conn: Connection, *, subscribers: int, seed: int) -> dict[str, int]:
    """Operator data and one other live campaign, generated inside PostgreSQL."""
    load_reference(conn, now=NOW, agents=5, quota=None)
    services = {c: i for c, i in conn.execute(select(orm.Service.code, orm.Service.id))}
    branches = {c: i for c, i in conn.execute(select(orm.Branch.code, orm.Branch.id))}
    scale = subscribers / 5_000_000
    held, history = int(3_000_000 * scale), int(1_000_000 * scale)
    conn.execute(text(f"SELECT setseed({(seed % 1000) / 1000})"))
    gz, sz, fs = branches["GZ"], branches["SZ"], branches["FS"]
    conn.execute(
        text(
            "INSERT INTO subscribers (id, msisdn, status, segment, branch_id) "
            f"SELECT i, {_msisdn_sql('i')}, "
            "(ARRAY['ACTIVE','ACTIVE','ACTIVE','ACTIVE','ACTIVE','ACTIVE','ACTIVE','ACTIVE',"
            "'ACTIVE','SUSPENDED','CANCELLED'])[1 + (random() * 10)::int], "
            "(ARRAY['family','youth','business','senior',NULL])[1 + (random() * 4)::int], "
            f"(ARRAY[{gz},{gz},{gz},{gz},{gz},{gz},{gz},{sz},{fs},NULL])[1 + (random() * 9)::int] "
            f"FROM generate_series(1, {subscribers}) i"
        )
    )
    conn.execute(text(f"SELECT setval('subscribers_id_seq', {subscribers})"))
    ids = ",".join(str(services[c]) for c in services)
    conn.execute(
        text(
            "INSERT INTO subscriber_services (subscriber_id, service_id, since) "
            f"SELECT 1 + (i * 2654435761 % {subscribers}), (ARRAY[{ids}])[1 + i % 5], NULL "
            f"FROM generate_series(1, {held}) i ON CONFLICT DO NOTHING"
        )
    )
    conn.execute(
        text(
            "INSERT INTO contact_history (msisdn, contacted_at, source) "
            f"SELECT {_msisdn_sql(f'(random() * {subscribers - 1})::bigint')}, "
            ":now - random() * interval '120 days', 'operator' "
            f"FROM generate_series(1, {history})"
        ),
        {"now": NOW},
    )
    conn.execute(
        text(
            "INSERT INTO follow_ups (msisdn, recorded_at) "
            f"SELECT {_msisdn_sql(f'(random() * {subscribers - 1})::bigint')}, "
            ":now - random() * interval '300 days' "
            f"FROM generate_series(1, {max(1, subscribers // 100)})"
        ),
        {"now": NOW},
    )
    conn.execute(
        text(
            "INSERT INTO dnc_entries (e164, campaign_id, reason, created_at, expires_at) "
            f"SELECT {_msisdn_sql(f'(random() * {subscribers - 1})::bigint')}, NULL, 'bench', "
            ":now, CASE WHEN random() < 0.2 THEN :now - interval '1 day' END "
            f"FROM generate_series(1, {max(1, subscribers // 250)})"
        ),
        {"now": NOW},
    )
    other = _new_campaign(conn, "other", services["5G_PLUS_99"], gz, CampaignState.LIVE)
    others = max(1, subscribers // 25)
    conn.execute(
        text(
            "INSERT INTO contacts (campaign_id, row_number, raw_input, e164, is_mobile, state, "
            "is_trial, attempts, disposition_streak) "
            f"SELECT :cid, i + 1, 'x', {_msisdn_sql(f'(random() * {subscribers - 1})::bigint')}, "
            "true, (ARRAY['READY','DONE','EXCLUDED'])[1 + (random() * 2)::int], false, 0, 0 "
            f"FROM generate_series(1, {others}) i"
        ),
        {"cid": other},
    )
    conn.execute(
        text(
            "INSERT INTO call_attempts (idempotency_key, campaign_id, contact_id, e164, "
            "attempt_no, phase, disposition, counts_as_attempt, dialed_at, ended_at, "
            "ring_seconds, talk_seconds, wrap_seconds) "
            "SELECT 'b' || id, campaign_id, id, e164, 1, 'LIVE', "
            "(ARRAY['REFUSED','NO_ANSWER','SUCCESS'])[1 + (random() * 2)::int], true, "
            ":now - random() * interval '60 days', :now, 0, 0, 0 "
            "FROM contacts WHERE campaign_id = :cid"
        ),
        {"cid": other, "now": NOW},
    )
    # The snapshot's importers rebuild subscriber_facts; rows generated here must too.
    refresh_facts(conn)
    return {
        "subscribers": subscribers,
        "subscriber_services": held,
        "contact_history": history,
        "other_contacts": others,
    }


def _new_campaign(
    conn: Connection, tag: str, offer_id: int, branch_id: int, state: CampaignState
) -> int:
    request = conn.execute(
        insert(orm.CampaignRequest).returning(orm.CampaignRequest.id),
        {
            "branch_id": branch_id,
            "offer_id": offer_id,
            "target_group": "bench",
            "requested_contacts": 0,
            "goal_activations": 1,
            "window_start": WINDOW_START,
            "window_end": WINDOW_START + timedelta(days=20),
            "month": "2026-11",
            "list_filename": f"{tag}.csv",
            "content_hash": uuid.uuid4().hex,
            "submitted_by": "bench",
            "submitted_at": NOW,
        },
    ).scalar_one()
    return int(
        conn.execute(
            insert(orm.Campaign).returning(orm.Campaign.id),
            {
                "request_id": request,
                "name": tag,
                "state": state,
                "created_at": NOW,
                "updated_at": NOW,
            },
        ).scalar_one()
    )


WIDE = str.maketrans("0123456789+-", "０１２３４５６７８９＋－")
BAD = ("10086", "95588", "12345", "", "n/a", "无", "138001380", "1380013800013800", "23800138000")
FIXED = ("020-8333{:04d}", "(0755) 8866{:04d}", "01062{:06d}", "+86 21 5888{:04d}")


def _messy(n: str, rng: random.Random) -> str:
    a, b, c = n[:3], n[3:7], n[7:]
    shape = rng.random()
    if shape < 0.45:
        return n
    if shape < 0.57:
        return f"{a} {b} {c}"
    if shape < 0.67:
        return f"{a}-{b}-{c}"
    if shape < 0.75:
        return f"+86 {a} {b} {c}"
    if shape < 0.81:
        return f"+86{n}"
    if shape < 0.85:
        return f"0086 {n}"
    if shape < 0.88:
        return f"({a}) {b} {c}"
    if shape < 0.92:
        return n.translate(WIDE)
    if shape < 0.97:
        return f"'{n}"
    return f" {n} "


def write_list(path: Path, *, rows: int, subscribers: int, seed: int) -> None:
    """A messy list: ~80% snapshot numbers, ~10% unknown, ~2% fixed lines, ~5% bad, ~3% repeats."""
    rng = random.Random(seed)
    numbers: list[str] = []
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["手机号", "姓名", "备注"])
        for i in range(rows):
            kind = rng.random()
            if kind < 0.03 and numbers:
                raw = rng.choice(numbers)
            elif kind < 0.08:
                raw = rng.choice(BAD)
            elif kind < 0.10:
                raw = rng.choice(FIXED).format(rng.randrange(10_000))
            elif kind < 0.20:
                raw = _messy(f"18{rng.randrange(10**9):09d}", rng)
            else:
                raw = _messy(_msisdn(rng.randrange(1, subscribers + 1))[3:], rng)
            if len(numbers) < 100_000:
                numbers.append(raw)
            note = 'VIP\t"a"\\N' if i % 997 == 0 else ""  # COPY escaping is exercised
            out.writerow([raw, f"客户{i}", note])


# --------------------------------------------------------------------------- figure 1


def peak_rss_mb() -> float:
    """This process's peak RSS plus the largest of its finished children's, in MB."""
    own = 0.0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                own = int(line.split()[1]) / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own + children


def _record(conn: Connection, cid: int, summary: dict[str, Any]) -> None:
    """Store the ledger on the campaign, as services.clean does."""
    conn.execute(
        update(orm.Campaign)
        .where(orm.Campaign.id == cid)
        .values(
            cleaning_summary={"kept": summary["kept"], **summary["first"]},
            cleaning_policy=POLICY.to_dict(),
            cleaning_ledger=summary,
            updated_at=NOW,
        )
    )


def one_run(url: str, csv_path: Path, workers: int, two_step: bool) -> dict[str, Any]:
    """One timed end-to-end run in this process; the campaign is removed afterwards."""
    engine = create_engine(url)
    with engine.begin() as conn:
        offer = conn.scalar(select(orm.Service.id).where(orm.Service.code == "5G_PLUS_59"))
        gz = conn.scalar(select(orm.Branch.id).where(orm.Branch.code == "GZ"))
        assert offer is not None and gz is not None
        cid = _new_campaign(conn, "run", offer, gz, CampaignState.CLEANING)
    start = time.perf_counter()
    lf = open_list(csv_path)
    with engine.begin() as conn:
        loaded = load_list(
            conn,
            cid,
            lf,
            region="CN",
            max_rows=10_000_000,
            policy=POLICY,
            now=NOW,
            due_at=None if two_step else DUE,
            workers=workers,
        )
        assert loaded.tally is not None
        tally = loaded.tally
        if not two_step:
            _record(conn, cid, ledger(tally, POLICY, NOW))
    loaded_at = time.perf_counter()
    if two_step:
        with engine.begin() as conn:
            tally = tally_set_based(conn, cid, POLICY, NOW, due_at=DUE)
            _record(conn, cid, ledger(tally, POLICY, NOW))
    wall = time.perf_counter() - start
    rss = peak_rss_mb()
    summary = ledger(tally, POLICY, NOW)
    with engine.begin() as conn:
        states: dict[str, int] = dict(
            conn.execute(
                text("SELECT state, count(*) FROM contacts WHERE campaign_id = :c GROUP BY state"),
                {"c": cid},
            )
            .tuples()
            .all()
        )
        states["EXCLUDED (list_exclusions)"] = conn.scalar(
            text("SELECT count(*) FROM list_exclusions WHERE campaign_id = :c"), {"c": cid}
        )
        conn.execute(text("DELETE FROM contacts WHERE campaign_id = :c"), {"c": cid})
        conn.execute(text("DELETE FROM list_exclusions WHERE campaign_id = :c"), {"c": cid})
        conn.execute(text("DELETE FROM campaigns WHERE id = :c"), {"c": cid})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM FULL ANALYZE contacts"))
        conn.execute(text("VACUUM FULL ANALYZE list_exclusions"))
    engine.dispose()
    counts = {"rows": loaded.stored, "valid": loaded.valid, "problems": loaded.problem_count}
    return {
        "wall": wall,
        "load": loaded_at - start,
        "clean": wall - (loaded_at - start),
        "rss_mb": rss,
        "counts": counts,
        "states": states,
        "ledger": {k: summary[k] for k in ("kept", "excluded", "first")},
    }


# --------------------------------------------------------------------------- figure 2


def naive(url: str, csv_path: Path, rows: int) -> float:
    """The per-row pipeline on the first `rows` rows; returns seconds."""
    engine = create_engine(url)
    with engine.begin() as conn:
        offer = conn.scalar(select(orm.Service.id).where(orm.Service.code == "5G_PLUS_59"))
        gz = conn.scalar(select(orm.Branch.id).where(orm.Branch.code == "GZ"))
        assert offer is not None and gz is not None
        cid = _new_campaign(conn, "naive", offer, gz, CampaignState.CLEANING)
    with csv_path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        cells = [r for _, r in zip(range(rows), reader, strict=False)]
    start = time.perf_counter()
    checks = [
        "SELECT status, segment, branch_id, id FROM subscribers WHERE msisdn = :n",
        "SELECT 1 FROM subscriber_services ss JOIN subscribers s ON s.id = ss.subscriber_id "
        "WHERE s.msisdn = :n AND ss.service_id = :offer",
        "SELECT 1 FROM subscriber_services ss JOIN subscribers s ON s.id = ss.subscriber_id "
        "JOIN services v ON v.id = ss.service_id WHERE s.msisdn = :n "
        "AND v.exclusion_group = '5g_plan' AND v.id <> :offer",
        "SELECT 1 FROM dnc_entries WHERE e164 = :n AND (campaign_id IS NULL OR campaign_id = :c) "
        "AND (expires_at IS NULL OR expires_at > :now)",
        "SELECT max(dialed_at) FROM call_attempts WHERE e164 = :n AND campaign_id <> :c "
        "AND disposition = 'REFUSED'",
        "SELECT 1 FROM contacts o JOIN campaigns k ON k.id = o.campaign_id WHERE o.e164 = :n "
        "AND o.campaign_id <> :c AND o.state NOT IN ('EXCLUDED','PENDING') "
        "AND k.state IN ('APPROVED','CLEANING','READY','TRIAL','TRIAL_REVIEW','LIVE','PAUSED')",
        "SELECT max(contacted_at) FROM contact_history WHERE msisdn = :n",
        "SELECT max(dialed_at) FROM call_attempts WHERE e164 = :n AND campaign_id <> :c",
        "SELECT 1 FROM follow_ups WHERE msisdn = :n LIMIT 1",
        "SELECT 1 FROM contacts WHERE campaign_id = :c AND e164 = :n LIMIT 1",
    ]
    with Session(engine) as session:
        for row_number, values in enumerate(cells, start=2):
            raw = values[0].strip()
            e164, mobile = None, False
            try:
                parsed = phonenumbers.parse(raw, "CN")
                if phonenumbers.is_valid_number(parsed):
                    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
                    mobile = phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE
            except phonenumbers.NumberParseException:
                pass
            excluded = e164 is None
            if e164 is not None:
                params = {"n": e164, "c": cid, "offer": offer, "now": NOW}
                hits = [session.execute(text(q), params).first() for q in checks]
                excluded = hits[0] is None or any(
                    h is not None and h[0] is not None for h in hits[1:]
                )
            attrs = {header[i]: v for i, v in enumerate(values) if i and v}
            session.add(
                orm.Contact(
                    campaign_id=cid,
                    row_number=row_number,
                    raw_input=raw[:100],
                    e164=e164,
                    is_mobile=mobile,
                    attributes=attrs or None,
                    state=ContactState.EXCLUDED if excluded else ContactState.READY,
                    is_trial=False,
                    attempts=0,
                    disposition_streak=0,
                    next_attempt_at=None if excluded else DUE,
                )
            )
            session.flush()
        session.commit()
    seconds = time.perf_counter() - start
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM contacts WHERE campaign_id = :c"), {"c": cid})
        conn.execute(text("DELETE FROM campaigns WHERE id = :c"), {"c": cid})
    engine.dispose()
    return seconds


# --------------------------------------------------------------------------- figure 3


def normaliser_ratio(n: int) -> tuple[float, float]:
    """(normalise_columns rows/s, phonenumbers rows/s) on bench/normaliser.py's list."""
    from normaliser import baseline, make_list

    from campaigns.fastphone import normalise_columns

    rows = make_list(n, 20251101)
    baseline(rows[0])
    t = time.perf_counter()
    for r in rows:
        baseline(r)
    base = time.perf_counter() - t
    t = time.perf_counter()
    normalise_columns(rows)
    fast = time.perf_counter() - t
    return n / fast, n / base


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the three figures and print them against their targets; 1 when one fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--subscribers", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--naive-rows", type=int, default=50_000)
    parser.add_argument("--normaliser-rows", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=1, help="normalising processes")
    parser.add_argument("--seed", type=int, default=20251125)
    parser.add_argument(
        "--two-step",
        action="store_true",
        help="store as a submitted request does, then clean the stored list (services.clean)",
    )
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--db", help="reuse this kept database (no generating, not dropped)")
    parser.add_argument("--list", type=Path, help="reuse (or write once) the list at this path")
    parser.add_argument("--one-run", nargs=2, metavar=("URL", "CSV"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.one_run:
        print(
            json.dumps(one_run(args.one_run[0], Path(args.one_run[1]), args.workers, args.two_step))
        )
        return 0

    if args.db:
        url = make_url(ADMIN_URL).set(database=args.db).render_as_string(hide_password=False)
        return _bench(args, url, args.db)
    name = f"bench_cleaning_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    url = create_database(admin, name)
    try:
        return _bench(args, url, name)
    finally:
        if not args.keep_db:
            drop_database(admin, name)
        else:
            print(f"kept database {name}")
        admin.dispose()


def _bench(args: argparse.Namespace, url: str, name: str) -> int:
    from flows import migrate

    if not args.db:
        engine = create_engine(url)
        migrate.upgrade(engine)
        t = time.perf_counter()
        with engine.begin() as conn:
            sizes = generate(conn, subscribers=args.subscribers, seed=args.seed)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        engine.dispose()
        print(f"database {name}: generated {sizes} in {time.perf_counter() - t:.1f} s")
    with tempfile.TemporaryDirectory(prefix="bench_cleaning_") as tmp:
        path = args.list or Path(tmp) / "list.csv"
        if not path.exists():
            t = time.perf_counter()
            write_list(path, rows=args.rows, subscribers=args.subscribers, seed=args.seed)
            took = time.perf_counter() - t
            print(f"list: {args.rows:,} rows, written in {took:.1f} s")
        print(f"list: {path}, {path.stat().st_size / 1e6:.1f} MB")

        runs = []
        for k in range(args.runs):
            child = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--workers",
                    str(args.workers),
                    *(["--two-step"] if args.two_step else []),
                    "--one-run",
                    url,
                    str(path),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            run = json.loads(child.stdout.strip().splitlines()[-1])
            runs.append(run)
            print(
                f"  run {k + 1}: {run['wall']:.2f} s (load {run['load']:.2f} s, clean "
                f"{run['clean']:.2f} s), peak RSS {run['rss_mb']:.0f} MB, "
                f"kept {run['ledger']['kept']:,}, excluded {run['ledger']['excluded']:,}"
            )
        print(f"  first reasons: {runs[-1]['ledger']['first']}")
        wall = statistics.median(r["wall"] for r in runs)
        rss = max(r["rss_mb"] for r in runs)

        naive_rows = min(args.naive_rows, args.rows)
        per_fast = wall / args.rows
        per_naive, ratio = 0.0, 0.0
        if naive_rows > 0:  # 0 skips figure 2 (quick figure-1-only runs)
            per_naive = naive(url, path, naive_rows) / naive_rows
            ratio = per_naive / per_fast

    fast_rate, base_rate = 0.0, 1.0
    if args.normaliser_rows > 0:
        fast_rate, base_rate = normaliser_ratio(args.normaliser_rows)

    ok_wall, ok_rss, ok_ratio = (
        wall <= TARGETS["wall"],
        rss <= TARGETS["rss_mb"],
        ratio >= TARGETS["ratio"],
    )

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    full = args.rows == 1_000_000 and args.subscribers == 5_000_000
    scale = "" if full else "  (targets are for 1M rows / 5M subscribers)"
    print()
    print(f"{'figure':<44}{'measured':>16}{'target':>12}  result{scale}")
    label = f"1 end to end, median of {args.runs} runs"
    print(f"{label:<44}{wall:>14.2f} s{'<= 8 s':>12}  {verdict(ok_wall)}")
    print(f"{'1 peak RSS':<44}{rss:>13.0f} MB{'<= 1.5 GB':>12}  {verdict(ok_rss)}")
    print(
        f"{'2 naive per row / fast per row':<44}{ratio:>15.1f}x{'>= 15x':>12}  {verdict(ok_ratio)}"
    )
    print(f"{'    naive ' + f'{per_naive * 1e6:,.0f} us/row on {naive_rows:,} rows':<44}")
    print(f"{'    fast  ' + f'{per_fast * 1e6:,.1f} us/row on {args.rows:,} rows':<44}")
    print(
        f"{'3 normalise_columns / phonenumbers':<44}{fast_rate / base_rate:>15.1f}x{'(info)':>12}"
        f"  {fast_rate:,.0f} vs {base_rate:,.0f} rows/s"
    )
    return 0 if ok_wall and ok_rss and ok_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
