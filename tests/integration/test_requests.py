"""Branch requests from files: every rejection says what to fix and writes nothing."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import pytest
from builders import NOW, TODAY, real_today, seed_operator
from sqlalchemy import func, select, update

from campaigns import services
from campaigns.errors import ListFileError, NotFoundError, ValidationError
from campaigns.intake import ListLimits, draft_from_fields, iter_rows, open_list
from campaigns.storage import orm
from flows import api
from flows.bootstrap import App

TABLES = (orm.CampaignRequest, orm.Campaign, orm.Contact, orm.AuditEntry)


def _counts(app: App) -> dict[str, int]:
    with app.uow() as uow:
        return {
            m.__tablename__: int(uow.session.scalar(select(func.count()).select_from(m)) or 0)
            for m in TABLES
        }


def _csv(
    tmp_path: Path, numbers: list[str], *, encoding: str = "gbk", name: str = "名单.csv"
) -> Path:
    path = tmp_path / name
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(["序号", "手机号码", "姓名"])
        for i, n in enumerate(numbers):
            w.writerow([i + 1, n, f"客户{i}"])
    return path


def _fields(**change: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "branch": "GZ",
        "offer": "5G_PLUS_59",
        "target": "4G 用户",
        "goal": 1,
        "start": (TODAY + timedelta(days=1)).isoformat(),
        "end": (TODAY + timedelta(days=3)).isoformat(),
        "month": TODAY.strftime("%Y-%m"),
    }
    fields.update(change)
    return fields


def _submit(
    app: App, path: Path, fields: dict[str, object], limits: ListLimits | None = None
) -> services.SubmitResult:
    lf = open_list(path, limits=limits)
    return services.submit_request(
        uow=app.uow(),
        draft=draft_from_fields(fields, submitted_by="gz"),
        rows=iter_rows(lf),
        file_digest=lf.digest,
        list_filename=path.name,
        now=NOW,
        limits=limits,
    )


REJECTIONS = [
    ({"branch": "XX"}, NotFoundError, "unknown branch 'XX'"),
    ({"offer": "NOPE"}, NotFoundError, "unknown offer 'NOPE'"),
    ({"start": "2026-11-20", "end": "2026-11-22"}, ValidationError, "ended on 2026-11-22"),
    ({"start": "2026-11-24"}, ValidationError, "starts on 2026-11-24, which is in the past"),
    ({"start": "2026-11-28", "end": "2026-11-26"}, ValidationError, "reversed"),
    ({"goal": 0}, ValidationError, "at least 1 activation"),
    ({"goal": -3}, ValidationError, "at least 1 activation"),
    ({"goal": None, "goal_rate": "1.5"}, ValidationError, "between 0 and 1"),
    ({"month": "2026-13"}, ValidationError, "month must look like 2026-11"),
    ({"month": "2027-02"}, ValidationError, "outside the month 2027-02"),
]


@pytest.mark.parametrize(("change", "error", "message"), REJECTIONS)
def test_bad_request_fields(
    app: App, tmp_path: Path, change: dict, error: type, message: str
) -> None:
    fates = seed_operator(app)
    before = _counts(app)
    with pytest.raises(error, match=message):
        _submit(app, _csv(tmp_path, list(fates.active)), _fields(**change))
    assert _counts(app) == before


def test_bad_files_are_rejected_whole(app: App, tmp_path: Path) -> None:
    fates = seed_operator(app)
    before = _counts(app)
    not_a_table = tmp_path / "photo.csv"
    not_a_table.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    no_phone = tmp_path / "no_phone.csv"
    no_phone.write_text("name,address\na,b\n", encoding="utf-8")
    empty = tmp_path / "empty.csv"
    empty.write_text("序号,手机号码\n\n\n", encoding="gbk")
    cases = [
        (not_a_table, ListFileError, "not a text table|neither UTF-8"),
        (no_phone, ListFileError, "no phone column"),
        (empty, ValidationError, "the list is empty"),
    ]
    for path, error, message in cases:
        with pytest.raises(error, match=message):
            _submit(app, path, _fields())
    with pytest.raises(ListFileError, match="over the limit"):
        _submit(
            app, _csv(tmp_path, list(fates.active)), _fields(), limits=ListLimits(max_bytes=100)
        )
    with pytest.raises(ValidationError, match="more than 10 rows"):
        _submit(app, _csv(tmp_path, list(fates.active)), _fields(), limits=ListLimits(max_rows=10))
    assert _counts(app) == before


def test_too_many_bad_rows_rejects_but_a_few_are_listed(app: App, tmp_path: Path) -> None:
    fates = seed_operator(app)
    before = _counts(app)
    bad = ["1380013", '=HYPERLINK("x")', "abc"] * 5
    with pytest.raises(ValidationError, match=r"15 of 55 rows \(27%\) have problems.*row \d+: "):
        _submit(app, _csv(tmp_path, list(fates.active) + bad), _fields())
    assert _counts(app) == before
    result = _submit(app, _csv(tmp_path, list(fates.active) + bad[:3]), _fields())
    assert result.problem_count == 3
    assert [(p.row_number, p.reason) for p in result.problems] == [
        (42, "INVALID_NUMBER"),
        (43, "FORMULA"),
        (44, "INVALID_NUMBER"),
    ]


def test_monthly_quota(app: App, tmp_path: Path) -> None:
    fates = seed_operator(app)
    with app.engine.begin() as conn:
        conn.execute(update(orm.Branch).values(monthly_quota=60))
    first = _submit(app, _csv(tmp_path, list(fates.active)), _fields())
    before = _counts(app)
    with pytest.raises(
        ValidationError,
        match="monthly quota is 60 contacts for 2026-11: "
        "40 are already requested and this list adds 40",
    ):
        _submit(app, _csv(tmp_path, list(fates.active), name="second.csv"), _fields(target="b"))
    assert _counts(app) == before
    # A rejected request frees its share of the quota.
    services.run_feasibility(uow=app.uow(), campaign_id=first.campaign_id, now=NOW)
    services.decide(
        uow=app.uow(), campaign_id=first.campaign_id, approve=False, actor="r", now=NOW, note="no"
    )
    assert not _submit(
        app, _csv(tmp_path, list(fates.active), name="third.csv"), _fields(target="c")
    ).duplicate


def test_same_file_twice_is_one_request(app: App, tmp_path: Path) -> None:
    fates = seed_operator(app)
    path = _csv(tmp_path, list(fates.active))
    first = _submit(app, path, _fields())
    again = _submit(app, path, _fields())
    assert again.duplicate and again.campaign_id == first.campaign_id
    assert _counts(app)["campaign_requests"] == 1


def test_goal_as_a_conversion_rate(app: App, tmp_path: Path) -> None:
    fates = seed_operator(app)
    result = _submit(app, _csv(tmp_path, list(fates.active)), _fields(goal=None, goal_rate="5%"))
    c = services.get_campaign(uow=app.uow(), campaign_id=result.campaign_id)
    assert c.goal_conversion_rate == 0.05 and c.goal_activations == 2  # ceil(5% of 40)


def test_feasibility_preview_matches_cleaning_and_capacity(app: App, tmp_path: Path) -> None:
    fates = seed_operator(app)
    raws = [f"'{n[3:]}" for n in fates.active] + [
        fates.suspended,
        fates.cancelled,
        fates.holds_offer,
        fates.holds_exclusive,
        fates.recent,
        fates.follow_up,
        fates.dnc,
        fates.unknown,
        "+86 " + fates.active[0][3:],
        "10086",
        "１３８－０００",
    ]
    path = _csv(tmp_path, raws)
    result = _submit(app, path, _fields(goal=5, contacts=60))
    report = services.run_feasibility(uow=app.uow(), campaign_id=result.campaign_id, now=NOW)
    assert report["list_size"] == 51 and report["valid_numbers"] == 49  # 10086, and 138－…
    assert report["cleaning_preview"] == {
        "kept": 40,
        "DO_NOT_CALL": 1,
        "DUPLICATE": 1,
        "HOLDS_EXCLUSIVE": 1,
        "HOLDS_OFFER": 1,
        "INVALID_NUMBER": 1,
        "PRIOR_FOLLOW_UP": 1,
        "RECENT_CONTACT": 1,
        "SHORT_CODE": 1,
        "SUBSCRIBER_INACTIVE": 2,
        "UNKNOWN_SUBSCRIBER": 1,
    }
    # 5 agents x 11 h (09:00-20:00 inside 08:00-21:00) x 3 days x 30 attempts an agent-hour
    assert report["capacity_attempts"] == 5 * 11 * 3 * 30
    assert report["needed_attempts"] == 72  # ceil(40 x 1.8)
    assert report["expected_conversions"] == round(40 * 0.35 * 0.08, 1)
    assert report["verdict"] == "AT_RISK"  # 1.1 expected < goal of 5
    assert any("list has 51 rows, fewer than the 60" in r for r in report["reasons"])
    services.decide(uow=app.uow(), campaign_id=result.campaign_id, approve=True, actor="r", now=NOW)
    summary = services.clean(uow=app.uow(), campaign_id=result.campaign_id, now=NOW)
    assert summary == report["cleaning_preview"]


def test_overlap_with_running_campaigns(app: App, tmp_path: Path) -> None:
    fates = seed_operator(app)
    first = _submit(app, _csv(tmp_path, list(fates.active)), _fields())
    services.run_feasibility(uow=app.uow(), campaign_id=first.campaign_id, now=NOW)
    services.decide(uow=app.uow(), campaign_id=first.campaign_id, approve=True, actor="r", now=NOW)
    second = _submit(
        app, _csv(tmp_path, list(fates.active[:10]), name="b.csv"), _fields(target="b")
    )
    report = services.run_feasibility(uow=app.uow(), campaign_id=second.campaign_id, now=NOW)
    assert report["overlap"] == 10 and report["verdict"] == "AT_RISK"


def test_api_submit_runs_the_check(app: App, tmp_path: Path) -> None:
    fates = seed_operator(app)
    today = real_today()
    fields = _fields(
        start=today.isoformat(),
        end=(today + timedelta(days=2)).isoformat(),
        month=today.strftime("%Y-%m"),
    )
    submission = api.submit(app, fields, _csv(tmp_path, list(fates.active)), submitted_by="gz")
    assert submission.feasibility is not None and submission.feasibility["verdict"] == "FEASIBLE"
    again = api.submit(app, fields, _csv(tmp_path, list(fates.active)), submitted_by="gz")
    assert again.result.duplicate and again.feasibility == submission.feasibility
