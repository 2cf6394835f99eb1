"""Feedback to the requesting branch (daily, and a final summary) and the center's
operations reports: build, store, write masked, deliver."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from campaigns import exports
from campaigns.errors import NotFoundError, ValidationError
from campaigns.feedback import Funnel, build_funnel, projected_finish
from campaigns.model import (
    CampaignRecord,
    CampaignState,
    ContactState,
    DeliveryStatus,
    Disposition,
    Phase,
)
from campaigns.operations import PeriodKind, ShiftRecord, operations_report, period_of
from campaigns.phone import mask, mask_numbers
from campaigns.ports import FeedbackSender, UnitOfWork
from campaigns.services import local_day_bounds, trial_funnel
from campaigns.summary import final_summary


def _funnel(
    uow: UnitOfWork,
    campaign_id: int,
    *,
    loaded: int,
    callable_: int,
    goal: int,
    start: datetime | None = None,
    end: datetime | None = None,
    phase: Phase | None = None,
) -> Funnel:
    by, dialled, talk = uow.attempts.counts(campaign_id, start=start, end=end, phase=phase)
    return build_funnel(
        by,
        records_loaded=loaded,
        records_callable=callable_,
        records_dialled=dialled,
        talk_seconds=talk,
        goal_activations=goal,
    )


def _phase_funnels(
    uow: UnitOfWork,
    campaign_id: int,
    *,
    start: datetime | None,
    end: datetime,
    sizes: tuple[int, int, int],
) -> dict[str, dict[str, Any]]:
    loaded, callable_, goal = sizes
    return {
        p.value: _funnel(
            uow,
            campaign_id,
            loaded=loaded,
            callable_=callable_,
            goal=goal,
            start=start,
            end=end,
            phase=p,
        ).to_dict()
        for p in Phase
    }


def _refusals(day: dict[str, int], total: dict[str, int], limit: int = 5) -> list[dict[str, Any]]:
    """The most given refusal reasons so far, with how often each was given on the day."""
    top = sorted(total.items(), key=lambda x: (-x[1], x[0]))[:limit]
    return [{"reason": r, "count": n, "day": day.get(r, 0)} for r, n in top]


def build_daily_report(
    *, uow: UnitOfWork, campaign_id: int, day: date, now: datetime
) -> tuple[int, dict[str, Any]]:
    """Compute one day's funnel next to the cumulative one, trial and live apart, store it,
    return (id, payload)."""
    with uow:
        c = uow.campaigns.get(campaign_id)
        states = uow.contacts.count_by_state(campaign_id)
        loaded = sum(states.values())
        callable_ = (
            loaded - states.get(ContactState.EXCLUDED, 0) - states.get(ContactState.PENDING, 0)
        )
        start, end = local_day_bounds(day, c.branch_timezone)
        goal = c.goal_activations
        sizes = (loaded, callable_, goal)
        today = _funnel(
            uow, campaign_id, loaded=loaded, callable_=callable_, goal=goal, start=start, end=end
        )
        cumulative = _funnel(
            uow, campaign_id, loaded=loaded, callable_=callable_, goal=goal, end=end
        )
        phases = {
            "day": _phase_funnels(uow, campaign_id, start=start, end=end, sizes=sizes),
            "cumulative": _phase_funnels(uow, campaign_id, start=None, end=end, sizes=sizes),
        }
        first = uow.analytics.first_dial_at(campaign_id)
        zone = ZoneInfo(c.branch_timezone)
        complaints = uow.attempts.masked_samples(
            campaign_id, Disposition.COMPLAINT, start=start, end=end
        )
        refusals = _refusals(
            uow.analytics.refusal_counts(campaign_id, start=start, end=end),
            uow.analytics.refusal_counts(campaign_id, end=end),
        )
        payload: dict[str, Any] = {
            "type": "daily_feedback",
            "campaign_id": c.id,
            "campaign": c.name,
            "branch": c.branch_code,
            "language": "zh-CN" if c.branch_region == "CN" else "en",
            "offer": c.offer_code,
            "date": day.isoformat(),
            "state": c.state.value,
            "goal_activations": c.goal_activations,
            "completion": cumulative.completion,
            "projected": projected_finish(
                successes=cumulative.successes,
                goal=c.goal_activations,
                first_day=first.astimezone(zone).date() if first else day,
                day=day,
                window_end=c.window_end,
            ),
            "day": today.to_dict(),
            "cumulative": cumulative.to_dict(),
            "trial": phases["cumulative"][Phase.TRIAL.value],
            "live": phases["cumulative"][Phase.LIVE.value],
            "phases": phases,
            "contacts_by_state": {k.value: v for k, v in sorted(states.items())},
            "top_refusal_reasons": refusals,
            "complaints": [
                {"number": mask(n), "at": t.isoformat(), "note": mask_numbers(note or "") or None}
                for n, t, note in complaints
            ],
        }
        report_id = uow.reports.upsert(campaign_id, day, payload, now=now)
        uow.commit()
    return report_id, payload


def _chinese(payload: dict[str, Any]) -> bool:
    return bool(payload.get("language", "zh-CN") == "zh-CN")


def daily_markdown(payload: dict[str, Any]) -> str:
    """A daily report as Markdown, for the flow's artifact and the terminal."""
    tables = exports.daily_tables(payload, chinese=_chinese(payload))
    return exports.markdown(tables, title=f"每日反馈 Daily feedback {payload['date']}")


def write_report_file(payload: dict[str, Any], reports_dir: Path) -> Path:
    """Write the report as JSON, CSV, XLSX and HTML; returns the JSON's path. Numbers in the
    payload are already masked."""
    return exports.write_all(
        payload,
        exports.daily_tables(payload, chinese=_chinese(payload)),
        reports_dir,
        f"campaign-{payload['campaign_id']}-{payload['date']}",
        title=f"每日反馈 Daily feedback · {payload['campaign']} · {payload['date']}",
    )[0]


def report_key(campaign_id: int, day: date, payload: dict[str, Any]) -> str:
    """The idempotency key of one version of a day's report: `<campaign>:<date>:<digest>`.

    Sent twice, a report has the same key and the branch drops the copy. A day reported
    again with more calls (the trial's hours, then the live ones; a resume after a pause)
    is a new version, with a new key, so it is not mistaken for a copy.
    """
    canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    return f"{campaign_id}:{day.isoformat()}:{hashlib.sha256(canonical).hexdigest()[:12]}"


def deliver_report(
    *,
    uow: UnitOfWork,
    report_id: int,
    sender: FeedbackSender,
    reports_dir: Path,
    now: datetime,
) -> DeliveryStatus:
    """Write the report files and POST the report to the branch webhook when one is
    configured; the idempotency key (campaign, date, version) lets the branch drop a copy."""
    with uow:
        campaign_id, day, payload, _ = uow.reports.get(report_id)
        url = uow.campaigns.get(campaign_id).webhook_url
    path = write_report_file(payload, reports_dir)
    error: str | None = None
    if url:
        error = sender.send(url, payload, idempotency_key=report_key(campaign_id, day, payload))
        status = DeliveryStatus.FAILED if error else DeliveryStatus.DELIVERED
    else:
        status = DeliveryStatus.NOT_CONFIGURED
    with uow:
        uow.reports.mark(
            report_id,
            status=status,
            now=now,
            error=error,
            file_path=str(path),
            attempted=bool(url),
        )
        uow.commit()
    return status


def reports_to_resend(
    *,
    uow: UnitOfWork,
    campaign_id: int | None = None,
    day: date | None = None,
    report_id: int | None = None,
) -> list[int]:
    """The reports a resend means: one by id, one by (campaign, date), or every one that is
    pending or failed."""
    with uow:
        if report_id is not None:
            uow.reports.get(report_id)  # raises NotFoundError for a wrong id
            return [report_id]
        if campaign_id is not None and day is not None:
            found = uow.analytics.report_id(campaign_id, day)
            if found is None:
                raise NotFoundError(f"campaign {campaign_id} has no report for {day}")
            return [found]
        return uow.analytics.undelivered([DeliveryStatus.PENDING, DeliveryStatus.FAILED])


def campaigns_to_report(*, uow: UnitOfWork, day: date, branch_code: str | None) -> list[int]:
    """Campaigns active on a local day: dialled that day, or trial/live/paused (of a branch)."""
    active = {CampaignState.TRIAL, CampaignState.TRIAL_REVIEW, CampaignState.LIVE}
    active.add(CampaignState.PAUSED)
    with uow:
        campaigns = [
            c for c in uow.campaigns.all() if branch_code is None or c.branch_code == branch_code
        ]
        # One look at the attempts per time zone: "that day" is the branch's local day.
        dialled: dict[str, set[int]] = {}
        for zone in {c.branch_timezone for c in campaigns}:
            start, end = local_day_bounds(day, zone)
            dialled[zone] = set(uow.analytics.campaigns_dialled(start=start, end=end))
    return [
        c.id
        for c in campaigns
        if c.id in dialled[c.branch_timezone]
        or (c.state in active and c.window_start <= day <= c.window_end)
    ]


# ------------------------------------------------------------------ final summary


def build_final_summary(*, uow: UnitOfWork, campaign_id: int, now: datetime) -> dict[str, Any]:
    """The summary of a completed or cancelled campaign, from every attempt it made."""
    with uow:
        c = uow.campaigns.get(campaign_id)
        facts = uow.analytics.attempt_facts(campaign_id=campaign_id)
        valid = uow.contacts.count_valid(campaign_id)
        trail = uow.audit.for_entity("campaign", campaign_id)
    periods = [
        (e["at"], int((e["detail"] or {})["version"]))
        for e in trail
        if e["action"] == "script_assigned" and "version" in (e["detail"] or {})
    ]
    ended = next(
        (e["at"] for e in reversed(trail) if e["to_state"] in ("COMPLETED", "CANCELLED")), now
    )
    payload = final_summary(
        campaign=c, facts=facts, valid_contacts=valid, script_periods=periods, ended_at=ended
    )
    return payload | {"language": "zh-CN" if c.branch_region == "CN" else "en"}


def summary_markdown(payload: dict[str, Any]) -> str:
    """A final summary as Markdown."""
    tables = exports.summary_tables(payload, chinese=_chinese(payload))
    return exports.markdown(tables, title=f"总结 Final summary · {payload['campaign']}")


def write_final_summary(payload: dict[str, Any], reports_dir: Path) -> Path:
    """Write the summary as JSON, CSV, XLSX and HTML; returns the JSON's path."""
    return exports.write_all(
        payload,
        exports.summary_tables(payload, chinese=_chinese(payload)),
        reports_dir,
        f"campaign-{payload['campaign_id']}-summary",
        title=f"总结 Final summary · {payload['campaign']}",
    )[0]


def summary_delivered(*, uow: UnitOfWork, campaign_id: int) -> bool:
    """Whether the branch already received the campaign's final summary."""
    with uow:
        trail = uow.audit.for_entity("campaign", campaign_id)
    return any(
        e["action"] == "branch_notified"
        and (e["detail"] or {}).get("about") == "final summary"
        and (e["detail"] or {}).get("status") == DeliveryStatus.DELIVERED.value
        for e in trail
    )


def deliver_final_summary(
    *, uow: UnitOfWork, campaign_id: int, sender: FeedbackSender, reports_dir: Path, now: datetime
) -> tuple[DeliveryStatus, dict[str, Any]]:
    """Build the final summary, write its files and send it to the branch (audited)."""
    payload = build_final_summary(uow=uow, campaign_id=campaign_id, now=now)
    write_final_summary(payload, reports_dir)
    with uow:
        campaign = uow.campaigns.get(campaign_id)
    status = _notify_branch(
        uow=uow, campaign=campaign, payload=payload, sender=sender, about="final summary", now=now
    )
    return status, payload


# ------------------------------------------------------------------ operations reports


def build_operations_report(
    *, uow: UnitOfWork, kind: PeriodKind, day: date, timezone: str
) -> dict[str, Any]:
    """The center's daily, weekly or monthly operations report over every campaign."""
    period = period_of(kind, day)
    start, end = period.bounds(timezone)
    with uow:
        facts = uow.analytics.attempt_facts(start=start, end=end)
        shifts = uow.analytics.shift_totals(first=period.first, last=period.last)
        ratings = uow.analytics.rating_counts(start=start, end=end)
    return operations_report(
        period=period, timezone=timezone, facts=facts, shifts=shifts, ratings=ratings
    )


def import_ratings(
    *, uow: UnitOfWork, ratings: Sequence[tuple[str, bool | None]], now: datetime
) -> int:
    """Store customers' ratings by call key (None: surveyed, no answer); a call rated again
    keeps the later rating. Refuses the whole file when a key names no call."""
    latest = dict(ratings)
    with uow:
        ids = uow.analytics.attempt_ids(sorted(latest))
        unknown = sorted(set(latest) - set(ids))
        if unknown:
            raise ValidationError(
                f"{len(unknown)} call keys name no call, e.g. " + ", ".join(unknown[:5])
            )
        uow.analytics.replace_ratings(
            [{"attempt_id": ids[k], "satisfied": v, "imported_at": now} for k, v in latest.items()]
        )
        uow.commit()
    return len(latest)


def import_shifts(*, uow: UnitOfWork, shifts: Sequence[ShiftRecord], now: datetime) -> int:
    """Store agents' shifts (a day again replaces it, in the file or in the database);
    refuses the whole file on any bad row."""
    shifts = list({(s.work_id, s.day): s for s in shifts}.values())
    problems = [f"{s.work_id} {s.day}: {p}" for s in shifts if (p := s.problem())]
    with uow:
        ids = uow.analytics.agent_ids(sorted({s.work_id for s in shifts}))
        problems += [f"unknown agent {w}" for w in sorted({s.work_id for s in shifts} - set(ids))]
        if problems:
            raise ValidationError("; ".join(problems[:10]))
        uow.analytics.replace_shifts(
            [
                {
                    "agent_id": ids[s.work_id],
                    "day": s.day,
                    "scheduled_seconds": s.scheduled_seconds,
                    "work_seconds": s.work_seconds,
                    "busy_seconds": s.busy_seconds,
                    "imported_at": now,
                }
                for s in shifts
            ]
        )
        uow.commit()
    return len(shifts)


def write_operations_report(payload: dict[str, Any], reports_dir: Path) -> list[Path]:
    """Write an operations report as JSON, CSV, XLSX and HTML."""
    return exports.write_all(
        payload,
        exports.operations_tables(payload),
        reports_dir,
        f"operations-{payload['period']}-{payload['first_day']}",
        title=payload["label"],
    )


def operations_markdown(payload: dict[str, Any]) -> str:
    """An operations report as Markdown."""
    return exports.markdown(exports.operations_tables(payload), title=payload["label"])


def notify_rejection(
    *, uow: UnitOfWork, campaign_id: int, sender: FeedbackSender, now: datetime
) -> DeliveryStatus:
    """Tell the requesting branch that its request was rejected, and why; audit the delivery."""
    with uow:
        c = uow.campaigns.get(campaign_id)
        trail = uow.audit.for_entity("campaign", campaign_id)
    decision = next((e for e in reversed(trail) if e["to_state"] == "REJECTED"), None)
    feasibility = c.feasibility or {}
    payload: dict[str, Any] = {
        "type": "request_rejected",
        "campaign_id": c.id,
        "campaign": c.name,
        "branch": c.branch_code,
        "offer": c.offer_code,
        "month": c.month,
        "decided_by": decision["actor"] if decision else None,
        "decided_at": decision["at"].isoformat() if decision else None,
        "note": (decision["detail"] or {}).get("note") if decision else None,
        "feasibility": {
            k: feasibility.get(k) for k in ("verdict", "reasons", "suggestions") if k in feasibility
        },
    }
    return _notify_branch(
        uow=uow, campaign=c, payload=payload, sender=sender, about="rejection", now=now
    )


def notify_trial_stopped(
    *, uow: UnitOfWork, campaign_id: int, sender: FeedbackSender, now: datetime
) -> DeliveryStatus:
    """Tell the requesting branch that its campaign stopped after the trial; audit it."""
    with uow:
        c = uow.campaigns.get(campaign_id)
        trail = uow.audit.for_entity("campaign", campaign_id)
    trial = trial_funnel(uow=uow, campaign_id=campaign_id)
    stop = next((e for e in reversed(trail) if e["to_state"] == "CANCELLED"), None)
    detail = (stop["detail"] or {}) if stop else {}
    payload: dict[str, Any] = {
        "type": "trial_stopped",
        "campaign_id": c.id,
        "campaign": c.name,
        "branch": c.branch_code,
        "offer": c.offer_code,
        "month": c.month,
        "decided_by": stop["actor"] if stop else None,
        "decided_at": stop["at"].isoformat() if stop else None,
        "reason": detail.get("reason") or detail.get("note"),
        "problems": detail.get("problems", []),
        "trial": trial.to_dict(),
    }
    return _notify_branch(
        uow=uow, campaign=c, payload=payload, sender=sender, about="trial stopped", now=now
    )


def _notify_branch(
    *,
    uow: UnitOfWork,
    campaign: CampaignRecord,
    payload: dict[str, Any],
    sender: FeedbackSender,
    about: str,
    now: datetime,
) -> DeliveryStatus:
    """Send one notice to the branch's webhook (once per campaign and subject) and audit it."""
    error: str | None = None
    if campaign.webhook_url:
        key = f"{campaign.id}:{about.replace(' ', '-')}"
        error = sender.send(campaign.webhook_url, payload, idempotency_key=key)
        status = DeliveryStatus.FAILED if error else DeliveryStatus.DELIVERED
    else:
        status = DeliveryStatus.NOT_CONFIGURED
    with uow:
        uow.audit.append(
            actor="system",
            entity="campaign",
            entity_id=campaign.id,
            action="branch_notified",
            at=now,
            detail={"about": about, "status": status.value, "error": error},
        )
        uow.commit()
    return status
