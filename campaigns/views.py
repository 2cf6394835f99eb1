"""Read models for the CLI, the dashboard and reports: plain dicts, no ORM objects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from campaigns import exports
from campaigns.compliance import CallPolicy, WaitReason, check_call
from campaigns.dialing import history_reach, policy_for
from campaigns.errors import NotFoundError
from campaigns.feedback import build_funnel, rate
from campaigns.model import (
    CONNECTED,
    LIVE_CONTACT,
    RIGHT_PARTY,
    CampaignRecord,
    CampaignState,
    ContactState,
    Disposition,
    Phase,
)
from campaigns.operations import ShiftTotals
from campaigns.phone import time_zones
from campaigns.ports import UnitOfWork
from campaigns.services import local_day_bounds
from campaigns.states import can_transition
from campaigns.summary import script_version_at

#: Dialing happens in these states only.
_DIALING_STATES = (CampaignState.TRIAL, CampaignState.LIVE)

_WAIT_LABELS = {
    WaitReason.OUTSIDE_HOURS: "outside the calling window",
    WaitReason.DAY_NOT_ALLOWED: "not a calling day",
    WaitReason.HOLIDAY: "a public holiday",
    WaitReason.ABANDON_COOLOFF: "cool-off after an abandoned call",
    WaitReason.CAP_24H: "per-number cap reached (24 h)",
    WaitReason.CAP_SHORT: "per-number cap reached (short burst)",
}


def _headline(c: CampaignRecord) -> dict[str, Any]:
    """The columns every campaign table starts with, in their order."""
    return {
        "id": c.id,
        "name": c.name,
        "state": c.state.value,
        "branch": c.branch_code,
        "offer": c.offer_code,
        "window_start": c.window_start,
        "window_end": c.window_end,
    }


def campaign_list(*, uow: UnitOfWork, branch: str | None = None) -> list[dict[str, Any]]:
    """Every campaign (or one branch's) with its headline figures, newest first."""
    with uow:
        out = []
        for c in uow.campaigns.all():
            if branch is not None and c.branch_code != branch:
                continue
            by, dialled, _ = uow.attempts.counts(c.id)
            out.append(
                _headline(c)
                | {
                    "attempts": sum(n for d, n in by.items() if d is not Disposition.NETWORK_FAIL),
                    "dialled": dialled,
                    "successes": by.get(Disposition.SUCCESS, 0),
                    "goal": c.goal_activations,
                }
            )
        return out


def campaign_status(*, uow: UnitOfWork, campaign_id: int) -> dict[str, Any]:
    """Where one campaign stands: state, contacts by state, exclusions and the funnel."""
    with uow:
        c = uow.campaigns.get(campaign_id)
        states = uow.contacts.count_by_state(campaign_id)
        exclusions = uow.contacts.exclusion_counts(campaign_id)
        by, dialled, talk = uow.attempts.counts(campaign_id)
        loaded = sum(states.values())
        excluded_or_pending = states.get(ContactState.EXCLUDED, 0) + states.get(
            ContactState.PENDING, 0
        )
        funnel = build_funnel(
            by,
            records_loaded=loaded,
            records_callable=loaded - excluded_or_pending,
            records_dialled=dialled,
            talk_seconds=talk,
            goal_activations=c.goal_activations,
        )
        # Trial and live are reported apart: the trial measures a sample, live the rest.
        by_phase = {}
        for phase in Phase:
            p_by, p_dialled, p_talk = uow.attempts.counts(campaign_id, phase=phase)
            by_phase[phase.value] = build_funnel(
                p_by,
                records_loaded=loaded,
                records_callable=loaded - excluded_or_pending,
                records_dialled=p_dialled,
                talk_seconds=p_talk,
                goal_activations=c.goal_activations,
            ).to_dict()
        audit = uow.audit.for_entity("campaign", campaign_id)
        return _headline(c) | {
            "feasibility": c.feasibility,
            "ledger": c.cleaning_ledger,
            "contacts_by_state": {k.value: v for k, v in sorted(states.items())},
            "exclusions": {
                k.value: v for k, v in sorted(exclusions.items(), key=lambda kv: -kv[1])
            },
            "dispositions": {k.value: v for k, v in sorted(by.items(), key=lambda kv: -kv[1])},
            "funnel": funnel.to_dict(),
            "trial": _trial_summary(audit) | {"funnel": by_phase[Phase.TRIAL.value]},
            "live_funnel": by_phase[Phase.LIVE.value],
            "reached": uow.attempts.reached(campaign_id) | {"records": loaded},
            "audit": audit,
        }


def _trial_summary(audit: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The trial's sample and decision, as its audited transitions recorded them."""
    started = next((e for e in reversed(audit) if e["to_state"] == "TRIAL"), None)
    reviewed = next((e for e in reversed(audit) if e["to_state"] == "TRIAL_REVIEW"), None)
    sample = (started["detail"] or {}) if started else {}
    review = (reviewed["detail"] or {}) if reviewed else {}
    return {
        "sample": sample.get("sample"),
        "allocation": sample.get("allocation", {}),
        "decision": review.get("decision"),
        "reasons": review.get("reasons", review.get("problems", [])),
    }


def dial_readiness(
    *,
    uow: UnitOfWork,
    campaign_id: int,
    now: datetime,
    sample: int = 200,
    branch: str | None = None,
) -> dict[str, Any]:
    """Why a campaign is (not) dialling at `now`: READY contacts grouped by what they wait
    for, and the dial rate, occupancy and abandon rate of the latest hour of dialling.

    Contacts not yet due are grouped in SQL by their last disposition. Contacts due now are
    checked against the rule packs and the do-not-call list on a sample of `sample` of them
    (the first due), so the answer costs a few queries whatever the list's size.
    """
    with uow:
        c = uow.campaigns.get(campaign_id)
        _scope(c, branch)
        ready = uow.contacts.count_by_state(campaign_id).get(ContactState.READY, 0)
        waiting = uow.contacts.waiting(campaign_id, now=now)
        due, numbers = uow.contacts.due_sample(campaign_id, now=now, limit=sample)
        dnc = uow.dnc.blocked(numbers, campaign_id=campaign_id, now=now)
        since, abandoned_since = history_reach(now)
        history = uow.attempts.dial_history(numbers, since=since, abandoned_since=abandoned_since)
        latest = uow.attempts.latest_dial_at(campaign_id)
        hour = []
        if latest is not None:
            edges = [latest - timedelta(hours=1), latest + timedelta(microseconds=1)]
            hour = uow.attempts.tally(campaign_id, edges=edges)
        staff = len(uow.catalogue.outbound_agents())
    blocked = _blocked_now(numbers, dnc, history, c.calling_hours, now)
    scheduled = [
        {
            "waiting_for": (
                "first attempt" if d is None else f"retry after {Disposition(d).value}"
            ),
            "contacts": n,
            "from": lo,
            "to": hi,
        }
        for d, n, lo, hi in sorted(waiting, key=lambda w: w[2])
    ]
    halted = None
    if c.state not in _DIALING_STATES:
        halted = f"campaign is {c.state.value}: nothing is dialled in this state"
    latest_hour = None
    if hour:
        t = hour[0]
        staffed = staff * 3600.0
        latest_hour = {
            "from": t.start,
            "to": latest,
            "dials": t.ended,
            "dial_rate_per_hour": t.ended,
            "live": t.live,
            "abandoned": t.abandoned,
            "abandon_rate": t.abandoned / t.live if t.live else 0.0,
            "occupancy": min(1.0, t.handle_seconds / staffed) if staffed else 0.0,
            "agents": staff,
        }
    return {
        "id": c.id,
        "state": c.state.value,
        "now": now,
        "halted": halted,
        "ready": ready,
        "due_now": due,
        "sampled": len(numbers),
        "callable_now": sum(1 for b in blocked if b["reason"] is None),
        "blocked_now": [b for b in _group(blocked) if b["reason"] is not None],
        "scheduled": scheduled,
        "latest_hour": latest_hour,
    }


def _blocked_now(
    numbers: Sequence[str],
    dnc: set[str],
    history: dict[str, tuple[list[datetime], list[datetime]]],
    hours: Any,
    now: datetime,
) -> list[dict[str, Any]]:
    policies: dict[str, CallPolicy] = {}
    out: list[dict[str, Any]] = []
    for number in numbers:
        if number in dnc:
            out.append({"reason": "DNC", "label": "on the do-not-call list"})
            continue
        zones = time_zones(number)
        dials, abandons = history.get(number, ([], []))
        verdict = check_call(
            policy_for(number, hours, policies), number, zones, now, dials, abandons
        )
        if verdict.allowed or verdict.reason is None:
            out.append({"reason": None, "label": "callable now"})
            continue
        label = _WAIT_LABELS[verdict.reason]
        if verdict.until is None:
            label += ", not within 30 days"
        else:
            local = verdict.until.astimezone(ZoneInfo(zones[0]))
            same_day = local.date() == now.astimezone(local.tzinfo).date()
            when = local.strftime("%H:%M" if same_day else "%a %d %b %H:%M")
            label += f" until {when} {zones[0]}"
        out.append({"reason": verdict.reason.value, "label": label})
    return out


def _group(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    counts: dict[tuple[Any, str], int] = {}
    for r in rows:
        key = (r["reason"], r["label"])
        counts[key] = counts.get(key, 0) + 1
    return [
        {"reason": reason, "label": label, "contacts": n}
        for (reason, label), n in sorted(counts.items(), key=lambda kv: -kv[1])
    ]


def daily_reports(*, uow: UnitOfWork, campaign_id: int) -> list[dict[str, Any]]:
    """Stored daily reports of a campaign, flattened for tables and charts."""
    with uow:
        rows = uow.reports.list_for(campaign_id)
    out = []
    for r in rows:
        day = r["payload"]["day"]
        out.append(
            {
                "id": r["id"],
                "date": r["date"],
                "attempts": day["attempts"],
                "connected": day["connected"],
                "right_party": day["right_party"],
                "successes": day["successes"],
                "complaints": day["complaints"],
                "conversion_per_rpc": day["conversion_per_rpc"],
                "completion": r["payload"]["completion"],
                "delivery_status": r["delivery_status"].value,
                "delivery_attempts": r["delivery_attempts"],
                "last_error": r["last_error"],
                "file_path": r["file_path"],
            }
        )
    return out


FUNNEL_STAGES = (
    ("records", "records"),
    ("dialled", "dialled"),
    ("connected", "connected"),
    ("right_party", "account holder verified"),
    ("pitched", "pitched"),
    ("successes", "success"),
)


def funnel_stages(status: dict[str, Any]) -> list[dict[str, Any]]:
    """The contact funnel (each contact counted once per stage it reached) for a chart."""
    reached = status["reached"]
    base = reached["records"] or 1
    return [
        {"order": i, "stage": label, "count": reached[key], "share": round(reached[key] / base, 4)}
        for i, (key, label) in enumerate(FUNNEL_STAGES)
    ]


def feasibility_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The report's figures as (label, value) rows, the same in every front end."""
    rates = report.get("rates", {})
    return [
        ("list rows", f"{report['list_size']:,}"),
        ("valid numbers", f"{report['valid_numbers']:,} ({report['valid_share']:.1%})"),
        ("rows with problems", f"{report.get('row_problems', 0):,}"),
        ("callable after cleaning (preview)", f"{report['callable_contacts']:,}"),
        ("overlap with approved or running campaigns", f"{report['overlap']:,}"),
        (
            "dialing hours",
            f"{report['days']} days × {report['hours_per_day']:g} h "
            f"({report['calling_hours']} within allowed {report['allowed_hours']})",
        ),
        ("outbound-enabled agents", str(report["agents"])),
        ("capacity (attempts)", f"{report['capacity_attempts']:,}"),
        ("attempts needed for the list", f"{report['needed_attempts']:,}"),
        ("expected connects per agent-hour", f"{report['connects_per_agent_hour']:g}"),
        (
            "expected activations / goal",
            f"{report['expected_conversions']:,.0f} / {report['goal_activations']:,}",
        ),
        (
            "rates used",
            f"{rates.get('attempts_per_agent_hour', 0):g} attempts/agent-hour, "
            f"{rates.get('attempts_per_contact', 0):g} attempts/contact, "
            f"{rates.get('rpc_per_contact', 0):.0%} RPC/contact, "
            f"{rates.get('conversion_per_rpc', 0):.1%} conversion/RPC — {report['basis']}",
        ),
        (
            "call script",
            f"version {report['script_version']}" if report["script_version"] else "none",
        ),
    ]


def feasibility_markdown(campaign_id: int, report: dict[str, Any]) -> str:
    """The report as Markdown (Prefect artifact, dashboard)."""
    lines = [f"# Feasibility of campaign {campaign_id}: **{report['verdict']}**", ""]
    lines += [f"- {r}" for r in report["reasons"]]
    lines += [f"- **suggestion:** {s}" for s in report["suggestions"]]
    lines += ["", "| figure | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in feasibility_rows(report)]
    lines += ["", "| cleaning preview | contacts |", "|---|---|"]
    lines += [f"| {k} | {v:,} |" for k, v in report["cleaning_preview"].items()]
    return "\n".join(lines)


def pending_approvals(*, uow: UnitOfWork) -> list[dict[str, Any]]:
    """Campaigns whose feasibility report waits for a reviewer's decision."""
    with uow:
        waiting = uow.campaigns.in_state(CampaignState.FEASIBILITY)
    return [
        {
            "id": c.id,
            "name": c.name,
            "branch": c.branch_code,
            "offer": c.offer_code,
            "window_start": c.window_start,
            "window_end": c.window_end,
            "goal": c.goal_activations,
            "target_group": c.target_group,
            "submitted_by": c.submitted_by,
            "feasibility": c.feasibility,
        }
        for c in waiting
    ]


def catalogue(*, uow: UnitOfWork) -> dict[str, list[dict[str, Any]]]:
    """Branches and offers (with whether a script exists) for request forms."""
    with uow:
        branches = uow.catalogue.branches()
        offers = uow.catalogue.offers()
        scripted = {o.id for o in offers if uow.catalogue.latest_script(o.id) is not None}
    return {
        "branches": [{"code": b.code, "name": b.name, "quota": b.monthly_quota} for b in branches],
        "offers": [
            {"code": o.code, "name": o.name, "price": o.monthly_price, "script": o.id in scripted}
            for o in offers
        ],
    }


def branches(*, uow: UnitOfWork) -> list[dict[str, Any]]:
    """Branches with their quota and webhook."""
    with uow:
        return [
            {"code": b.code, "name": b.name, "quota": b.monthly_quota, "webhook": b.webhook_url}
            for b in uow.catalogue.branches()
        ]


def ledger_rows(ledger: dict[str, Any]) -> list[dict[str, Any]]:
    """Ledger summary rows: reason, rule version, first-reason count, count of the rule alone."""
    first = ledger.get("first", {})
    alone = ledger.get("alone", {})
    rules = ledger.get("rules", {})
    reasons = sorted(set(first) | set(alone), key=lambda r: (-first.get(r, 0), r))
    return [
        {"reason": r, "rule": rules.get(r, r), "first": first.get(r, 0), "alone": alone.get(r, 0)}
        for r in reasons
    ]


def ledger_markdown(campaign_id: int, ledger: dict[str, Any]) -> str:
    """The ledger summary as Markdown (Prefect artifact)."""
    lines = [
        f"# Exclusion ledger of campaign {campaign_id}",
        "",
        f"{ledger.get('excluded', 0):,} of {ledger.get('kept', 0) + ledger.get('excluded', 0):,} "
        f"contacts will be skipped; {ledger.get('kept', 0):,} are callable.",
        "",
        "| reason | rule | first reason | this rule alone |",
        "|---|---|---:|---:|",
    ]
    lines += [
        f"| {r['reason']} | {r['rule']} | {r['first']:,} | {r['alone']:,} |"
        for r in ledger_rows(ledger)
    ]
    return "\n".join(lines)


def agent_table(*, uow: UnitOfWork, first: date, last: date, tz: str) -> list[dict[str, Any]]:
    """Per agent over the local days first..last in `tz`: calls, talk and handle time,
    conversions and their rate."""
    zone = ZoneInfo(tz)
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
    with uow:
        rows = uow.rollups.agent_totals(start=start, end=end)
    out = []
    for r in rows:
        calls = int(r["calls"] or 0)
        talk = float(r["talk_seconds"] or 0.0)
        wrap = float(r["wrap_seconds"] or 0.0)
        successes = int(r["successes"] or 0)
        out.append(
            {
                "agent": r["work_id"],
                "name": r["name"],
                "calls": calls,
                "talk_hours": talk / 3600,
                "handle_hours": (talk + wrap) / 3600,
                "avg_talk_seconds": talk / calls if calls else 0.0,
                "conversions": successes,
                "conversion_rate": successes / calls if calls else 0.0,
            }
        )
    return out


# ------------------------------------------------------------------ dashboard read models
#
# These read the rollups (campaign hours, agent hours, contact reach) and indexed look-ups
# only, so a page costs the same with a year of calls as with a day's.

#: Weekdays for the heat map, Monday first (datetime.weekday()).
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _scope(c: CampaignRecord, branch: str | None) -> None:
    """A campaign of another branch is, for a branch user, a campaign that does not exist."""
    if branch is not None and c.branch_code != branch:
        raise NotFoundError(f"no campaign {c.id}")


def _figures(by: dict[Disposition, int]) -> dict[str, int]:
    """Attempt counts that tiles and tables show, from finished attempts by disposition."""
    return {
        "attempts": sum(n for d, n in by.items() if d is not Disposition.NETWORK_FAIL),
        "connected": sum(n for d, n in by.items() if d in CONNECTED),
        "live": sum(n for d, n in by.items() if d in LIVE_CONTACT),
        "right_party": sum(n for d, n in by.items() if d in RIGHT_PARTY),
        "successes": by.get(Disposition.SUCCESS, 0),
        "abandoned": by.get(Disposition.ABANDONED, 0),
        "complaints": by.get(Disposition.COMPLAINT, 0),
    }


def _rates(f: dict[str, Any], goal: int | None = None) -> dict[str, Any]:
    """The figures with their rates (DOMAIN.md §3): conversion per RPC, abandon per live."""
    out = dict(f)
    out["connect_rate"] = rate(f["connected"], f["attempts"])
    out["contact_rate"] = rate(f["live"], f["attempts"])
    out["conversion"] = rate(f["successes"], f["right_party"])
    out["abandon_rate"] = rate(f["abandoned"], f["live"])
    if goal is not None:
        out["goal"] = goal
        out["completion"] = rate(f["successes"], goal)
    return out


def _add(into: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    for k, v in more.items():
        into[k] = into.get(k, 0) + v
    return into


def _local_day_start(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz))


def campaign_choices(*, uow: UnitOfWork, branch: str | None = None) -> list[dict[str, Any]]:
    """Campaigns to pick from (one branch's when `branch` is given), newest first."""
    with uow:
        return [
            {
                "id": c.id,
                "name": c.name,
                "state": c.state.value,
                "branch": c.branch_code,
                "offer": c.offer_code,
            }
            for c in uow.campaigns.all()
            if branch is None or c.branch_code == branch
        ]


def overview(
    *, uow: UnitOfWork, now: datetime, tz: str, days: int = 7, branch: str | None = None
) -> dict[str, Any]:
    """KPI tiles of the last `days` local days against the `days` before, and all-time
    figures per campaign and per branch (one branch's only when `branch` is given)."""
    today = now.astimezone(ZoneInfo(tz)).date()
    first = today - timedelta(days=days - 1)
    current = (_local_day_start(first, tz), _local_day_start(today + timedelta(days=1), tz))
    previous = (_local_day_start(first - timedelta(days=days), tz), current[0])
    with uow:
        campaigns = [c for c in uow.campaigns.all() if branch is None or c.branch_code == branch]
        rows = uow.dashboard.campaign_totals(
            [c.id for c in campaigns] if branch is not None else None,
            periods=[current, previous],
        )
    total: dict[int, dict[Disposition, int]] = {}
    periods: list[dict[Disposition, int]] = [{}, {}]
    for r in rows:
        d = Disposition(r["disposition"])
        by = total.setdefault(r["campaign_id"], {})
        by[d] = by.get(d, 0) + int(r["calls"])
        for i in (0, 1):
            periods[i][d] = periods[i].get(d, 0) + int(r[f"period_{i}"])
    table: list[dict[str, Any]] = []
    branches: dict[str, dict[str, Any]] = {}
    for c in campaigns:
        f = _figures(total.get(c.id, {}))
        table.append(_headline(c) | _rates(f, c.goal_activations))
        b = branches.setdefault(c.branch_code, {"campaigns": 0, "goal": 0, "active": 0})
        b["campaigns"] += 1
        b["goal"] += c.goal_activations
        b["active"] += c.state in (*_DIALING_STATES, CampaignState.PAUSED)
        _add(b, f)
    per_branch = [
        {"branch": code, "campaigns": b["campaigns"], "active": b["active"]}
        | _rates({k: b[k] for k in _figures({})}, b["goal"])
        for code, b in sorted(branches.items())
    ]
    now_f, before_f = _rates(_figures(periods[0])), _rates(_figures(periods[1]))
    goal = sum(c.goal_activations for c in campaigns)
    won = sum(r["successes"] for r in table)
    return {
        "days": days,
        "current": (first, today),
        "previous": (first - timedelta(days=days), first - timedelta(days=1)),
        "tiles": {
            k: {"value": now_f[k], "previous": before_f[k]}
            for k in ("attempts", "right_party", "successes", "conversion")
            + ("abandon_rate", "complaints", "contact_rate")
        }
        | {
            "completion": {
                "value": rate(won, goal),
                "previous": rate(won - now_f["successes"], goal),
            },
            "active": {
                "value": sum(1 for c in campaigns if c.state in _DIALING_STATES),
                "previous": None,
            },
        },
        "campaigns": table,
        "branches": per_branch,
    }


def _script_periods(audit: Sequence[dict[str, Any]]) -> list[tuple[datetime, int]]:
    return [
        (e["at"], int((e["detail"] or {})["version"]))
        for e in audit
        if e["action"] == "script_assigned" and "version" in (e["detail"] or {})
    ]


def campaign_board(
    *, uow: UnitOfWork, campaign_id: int, branch: str | None = None
) -> dict[str, Any]:
    """Everything the campaign page shows but the waits: the contact funnel, attempt figures
    with their rates, trial against live, the daily trend and the hour-by-weekday heat map
    (in the branch's time zone), dispositions, script versions compared, the ledger and
    the audited actions. From the campaign hours and the contacts reached, never attempts."""
    with uow:
        c = uow.campaigns.get(campaign_id)
        _scope(c, branch)
        states = uow.contacts.count_by_state(campaign_id)
        hours = uow.rollups.campaign_hours(campaign_id)
        reach = uow.dashboard.reach(campaign_id)
        audit = uow.audit.for_entity("campaign", campaign_id)
        script = uow.catalogue.script(c.script_id) if c.script_id else None
    zone = ZoneInfo(c.branch_timezone)
    loaded = sum(states.values())
    callable_ = loaded - states.get(ContactState.EXCLUDED, 0) - states.get(ContactState.PENDING, 0)
    by: dict[Disposition, int] = {}
    by_phase: dict[str, dict[Disposition, int]] = {p.value: {} for p in Phase}
    talk = {p.value: 0.0 for p in Phase}
    days: dict[date, dict[Disposition, int]] = {}
    cells: dict[tuple[int, int], dict[Disposition, int]] = {}
    versions: dict[int | None, dict[Disposition, int]] = {}
    periods = _script_periods(audit)
    for h in hours:
        d, n = Disposition(h["disposition"]), int(h["calls"])
        phase = Phase(h["phase"]).value
        local = h["hour"].astimezone(zone)
        for bucket in (
            by,
            by_phase[phase],
            days.setdefault(local.date(), {}),
            cells.setdefault((local.weekday(), local.hour), {}),
            versions.setdefault(script_version_at(periods, h["hour"]), {}),
        ):
            bucket[d] = bucket.get(d, 0) + n
        talk[phase] += float(h["talk_seconds"])
    everyone = reach.get(None, {})

    def funnel(counts: dict[Disposition, int], dialled: int, talk_seconds: float) -> Any:
        return build_funnel(
            counts,
            records_loaded=loaded,
            records_callable=callable_,
            records_dialled=dialled,
            talk_seconds=int(talk_seconds),
            goal_activations=c.goal_activations,
        ).to_dict()

    stages = [("records", loaded)] + [(k, everyone.get(k, 0)) for k, _ in FUNNEL_STAGES[1:]]
    attempts_total = sum(n for d, n in by.items() if d is not Disposition.NETWORK_FAIL)
    return _headline(c) | {
        "timezone": c.branch_timezone,
        "goal": c.goal_activations,
        "target_group": c.target_group,
        "script": {"version": script.version, "title": script.title} if script else None,
        "contacts_by_state": {k.value: v for k, v in sorted(states.items())},
        "funnel": funnel(by, everyone.get("dialled", 0), sum(talk.values())),
        "stages": [
            {
                "order": i,
                "stage": key,
                "count": n,
                "of_records": rate(n, loaded),
                "of_previous": rate(n, stages[i - 1][1]) if i else 1.0,
            }
            for i, (key, n) in enumerate(stages)
        ],
        "phases": {
            p: funnel(by_phase[p], reach.get(Phase(p), {}).get("dialled", 0), talk[p])
            for p in by_phase
        },
        "trial": _trial_summary(audit),
        "trend": [{"date": day} | _rates(_figures(counts)) for day, counts in sorted(days.items())],
        "heatmap": [
            {
                "weekday": WEEKDAYS[wd],
                "weekday_no": wd,
                "hour": hr,
                "attempts": (f := _figures(counts))["attempts"],
                "live": f["live"],
                "contact_rate": rate(f["live"], f["attempts"]),
            }
            for (wd, hr), counts in sorted(cells.items())
        ],
        "dispositions": [
            {"disposition": d.value, "attempts": n, "share": rate(n, sum(by.values()))}
            for d, n in sorted(by.items(), key=lambda kv: (-kv[1], kv[0].value))
        ],
        "scripts": [
            {"version": v} | _rates(_figures(counts))
            for v, counts in sorted(versions.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
        ],
        "ledger": c.cleaning_ledger,
        "attempts": attempts_total,
        "actions": [
            {
                "at": e["at"],
                "actor": e["actor"],
                "action": e["action"],
                "from": e["from_state"],
                "to": e["to_state"],
                "note": (e["detail"] or {}).get("note"),
            }
            for e in reversed(audit)
        ][:20],
    }


#: The controls the campaign page offers, with the state each needs: launch runs the flow
#: from an approved or ready campaign; go/no-go decides a trial under review.
_CONTROL_STATES = {
    "launch": (CampaignState.APPROVED, CampaignState.READY),
    "go": (CampaignState.TRIAL_REVIEW,),
    "no_go": (CampaignState.TRIAL_REVIEW,),
    "pause": (CampaignState.LIVE,),
    "resume": (CampaignState.PAUSED,),
}


def campaign_state(*, uow: UnitOfWork, campaign_id: int, branch: str | None = None) -> str:
    """Where a campaign stands now (its state), for controls that must not act on a stale one."""
    with uow:
        c = uow.campaigns.get(campaign_id)
    _scope(c, branch)
    return c.state.value


def available_controls(state: CampaignState) -> list[str]:
    """The controls that make sense for a campaign in `state`, in the order to show them."""
    out = [name for name, states in _CONTROL_STATES.items() if state in states]
    # Cancelling a request still under review is the reviewer's rejection, not a control.
    if can_transition(state, CampaignState.CANCELLED) and state not in (
        CampaignState.SUBMITTED,
        CampaignState.FEASIBILITY,
    ):
        out.append("cancel")
    return out


def campaign_pulse(
    *, uow: UnitOfWork, campaign_id: int, now: datetime, branch: str | None = None
) -> dict[str, Any]:
    """The live numbers of one campaign: its state, today's figures in the branch's time
    zone, and the latest hour with calls; small enough to refresh every few seconds."""
    with uow:
        c = uow.campaigns.get(campaign_id)
        _scope(c, branch)
        zone = c.branch_timezone
        start = _local_day_start(now.astimezone(ZoneInfo(zone)).date(), zone)
        rows = uow.dashboard.campaign_totals([campaign_id], periods=[(start, now)])
        hour, latest_by = uow.dashboard.latest_hour(campaign_id)
    today: dict[Disposition, int] = {}
    everything: dict[Disposition, int] = {}
    for r in rows:
        d = Disposition(r["disposition"])
        today[d] = int(r["period_0"])
        everything[d] = int(r["calls"])
    latest = None
    if hour is not None:
        latest = {"hour": hour} | _rates(_figures(latest_by))
    return {
        "id": c.id,
        "state": c.state.value,
        "today": _rates(_figures(today)),
        "total": _rates(_figures(everything), c.goal_activations),
        "latest_hour": latest,
    }


def agent_board(*, uow: UnitOfWork, first: date, last: date, tz: str) -> dict[str, Any]:
    """Per agent over the local days first..last in `tz`: calls, talk and handle time,
    conversions, and from the imported shifts occupancy (handle time over the time signed
    in and not flagged busy) and 有效工时利用率 ((工作时长 − 示忙时长) / 排班时长)."""
    rows = agent_table(uow=uow, first=first, last=last, tz=tz)
    with uow:
        shifts = uow.analytics.shift_totals(first=first, last=last)
    seen = {r["agent"] for r in rows}
    # An agent on shift who handled no call is still an agent of the period.
    for work_id in sorted(set(shifts) - seen):
        rows.append(
            {
                "agent": work_id,
                "name": work_id,
                "calls": 0,
                "talk_hours": 0.0,
                "handle_hours": 0.0,
                "avg_talk_seconds": 0.0,
                "conversions": 0,
                "conversion_rate": 0.0,
            }
        )
    for r in rows:
        shift = shifts.get(r["agent"])
        available = (shift.work_seconds - shift.busy_seconds) if shift else 0
        r["scheduled_hours"] = shift.scheduled_seconds / 3600 if shift else None
        r["work_hours"] = shift.work_seconds / 3600 if shift else None
        r["busy_hours"] = shift.busy_seconds / 3600 if shift else None
        r["occupancy"] = (
            min(1.0, rate(r["handle_hours"] * 3600, available)) if available > 0 else None
        )
        r["utilisation"] = shift.utilisation if shift else None
    total = ShiftTotals(
        sum(s.scheduled_seconds for s in shifts.values()),
        sum(s.work_seconds for s in shifts.values()),
        sum(s.busy_seconds for s in shifts.values()),
    )
    handle = sum(r["handle_hours"] for r in rows if r["occupancy"] is not None) * 3600
    available = total.work_seconds - total.busy_seconds
    calls = sum(r["calls"] for r in rows)
    conversions = sum(r["conversions"] for r in rows)
    return {
        "first": first,
        "last": last,
        "agents": sorted(rows, key=lambda r: r["agent"]),
        "totals": {
            "agents": sum(1 for r in rows if r["calls"]),
            "calls": calls,
            "talk_hours": sum(r["talk_hours"] for r in rows),
            "conversions": conversions,
            "conversion_rate": rate(conversions, calls),
            "occupancy": min(1.0, rate(handle, available)) if available > 0 else None,
            "utilisation": total.utilisation,
            "shifts": bool(shifts),
        },
    }


def _summary_status(audit: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The latest attempt to send the final summary to the branch, from the audit trail."""
    sent = [
        e
        for e in audit
        if e["action"] == "branch_notified" and (e["detail"] or {}).get("about") == "final summary"
    ]
    if not sent:
        return None
    last = sent[-1]
    return {"at": last["at"], "status": (last["detail"] or {}).get("status"), "tries": len(sent)}


def report_board(*, uow: UnitOfWork, campaign_id: int, branch: str | None = None) -> dict[str, Any]:
    """A campaign's daily reports with their delivery state, and its final summary's."""
    with uow:
        c = uow.campaigns.get(campaign_id)
        _scope(c, branch)
        audit = uow.audit.for_entity("campaign", campaign_id)
    return {
        "id": c.id,
        "name": c.name,
        "state": c.state.value,
        "branch": c.branch_code,
        "finished": c.state in (CampaignState.COMPLETED, CampaignState.CANCELLED),
        "daily": daily_reports(uow=uow, campaign_id=campaign_id),
        "summary": _summary_status(audit),
    }


def complaints(
    *, uow: UnitOfWork, campaign_id: int, day: date, branch: str | None = None
) -> list[dict[str, Any]]:
    """The complaints of one campaign's local day (at most 50): number, time and note, the
    number unmasked; pages mask it with `access.mask_number` for the user."""
    with uow:
        c = uow.campaigns.get(campaign_id)
        _scope(c, branch)
        start, end = local_day_bounds(day, c.branch_timezone)
        rows = uow.attempts.masked_samples(campaign_id, Disposition.COMPLAINT, start=start, end=end)
    return [{"number": n, "at": at, "note": note} for n, at, note in rows]


#: Download formats of a report: file suffix and MIME type.
REPORT_FORMATS = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html",
}


def daily_report_file(
    *, uow: UnitOfWork, report_id: int, fmt: str, branch: str | None = None
) -> tuple[str, bytes]:
    """One stored daily report as CSV, XLSX or HTML (numbers masked, as the branch got it):
    its file name and content."""
    with uow:
        campaign_id, day, payload, _ = uow.reports.get(report_id)
        _scope(uow.campaigns.get(campaign_id), branch)
    chinese = payload.get("language", "zh-CN") == "zh-CN"
    tables = exports.daily_tables(payload, chinese=chinese)
    title = f"每日反馈 Daily feedback · {payload['campaign']} · {payload['date']}"
    name = f"campaign-{campaign_id}-{day.isoformat()}.{fmt}"
    return name, exports.render(tables, fmt, title=title)


def summary_file(payload: dict[str, Any], fmt: str) -> tuple[str, bytes]:
    """A final summary payload as CSV, XLSX or HTML: its file name and content."""
    chinese = payload.get("language", "zh-CN") == "zh-CN"
    tables = exports.summary_tables(payload, chinese=chinese)
    title = f"总结 Final summary · {payload['campaign']}"
    return f"campaign-{payload['campaign_id']}-summary.{fmt}", exports.render(
        tables, fmt, title=title
    )
