"""Read models for the CLI, the dashboard and reports: plain dicts, no ORM objects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from campaigns.compliance import CallPolicy, WaitReason, check_call
from campaigns.dialing import history_reach, policy_for
from campaigns.feedback import build_funnel
from campaigns.model import CampaignState, ContactState, Disposition, Phase
from campaigns.phone import time_zones
from campaigns.ports import UnitOfWork

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


def campaign_list(*, uow: UnitOfWork, branch: str | None = None) -> list[dict[str, Any]]:
    """Every campaign (or one branch's) with its headline figures, newest first."""
    with uow:
        out = []
        for c in uow.campaigns.all():
            if branch is not None and c.branch_code != branch:
                continue
            by, dialled, _ = uow.attempts.counts(c.id)
            out.append(
                {
                    "id": c.id,
                    "name": c.name,
                    "state": c.state.value,
                    "branch": c.branch_code,
                    "offer": c.offer_code,
                    "window_start": c.window_start,
                    "window_end": c.window_end,
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
        return {
            "id": c.id,
            "name": c.name,
            "state": c.state.value,
            "branch": c.branch_code,
            "offer": c.offer_code,
            "window_start": c.window_start,
            "window_end": c.window_end,
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
    *, uow: UnitOfWork, campaign_id: int, now: datetime, sample: int = 200
) -> dict[str, Any]:
    """Why a campaign is (not) dialling at `now`: READY contacts grouped by what they wait
    for, and the dial rate, occupancy and abandon rate of the latest hour of dialling.

    Contacts not yet due are grouped in SQL by their last disposition. Contacts due now are
    checked against the rule packs and the do-not-call list on a sample of `sample` of them
    (the first due), so the answer costs a few queries whatever the list's size.
    """
    with uow:
        c = uow.campaigns.get(campaign_id)
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
