"""Daily feedback to the requesting branch: build, store, write masked, deliver."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from campaigns.feedback import Funnel, build_funnel
from campaigns.model import CampaignRecord, ContactState, DeliveryStatus, Disposition, Phase
from campaigns.phone import mask
from campaigns.ports import FeedbackSender, UnitOfWork
from campaigns.services import local_day_bounds, trial_funnel


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


def build_daily_report(
    *, uow: UnitOfWork, campaign_id: int, day: date, now: datetime
) -> tuple[int, dict[str, Any]]:
    """Compute one day's funnel next to the cumulative one, store it, return (id, payload)."""
    with uow:
        c = uow.campaigns.get(campaign_id)
        states = uow.contacts.count_by_state(campaign_id)
        loaded = sum(states.values())
        callable_ = (
            loaded - states.get(ContactState.EXCLUDED, 0) - states.get(ContactState.PENDING, 0)
        )
        start, end = local_day_bounds(day, c.branch_timezone)
        goal = c.goal_activations
        today = _funnel(
            uow, campaign_id, loaded=loaded, callable_=callable_, goal=goal, start=start, end=end
        )
        cumulative = _funnel(
            uow, campaign_id, loaded=loaded, callable_=callable_, goal=goal, end=end
        )
        trial = _funnel(
            uow,
            campaign_id,
            loaded=loaded,
            callable_=callable_,
            goal=goal,
            end=end,
            phase=Phase.TRIAL,
        )
        complaints = uow.attempts.masked_samples(
            campaign_id, Disposition.COMPLAINT, start=start, end=end
        )
        payload: dict[str, Any] = {
            "campaign_id": c.id,
            "campaign": c.name,
            "branch": c.branch_code,
            "offer": c.offer_code,
            "date": day.isoformat(),
            "state": c.state.value,
            "goal_activations": c.goal_activations,
            "completion": cumulative.completion,
            "day": today.to_dict(),
            "cumulative": cumulative.to_dict(),
            "trial": trial.to_dict(),
            "contacts_by_state": {k.value: v for k, v in sorted(states.items())},
            "top_refusal_reasons": [
                {"reason": r, "count": n} for r, n in uow.attempts.refusal_reasons(campaign_id)
            ],
            "complaints": [
                {"number": mask(n), "at": t.isoformat(), "note": note} for n, t, note in complaints
            ],
        }
        report_id = uow.reports.upsert(campaign_id, day, payload, now=now)
        uow.commit()
    return report_id, payload


def write_report_file(payload: dict[str, Any], reports_dir: Path) -> Path:
    """Write the report as JSON; numbers in it are already masked."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / f"campaign-{payload['campaign_id']}-{payload['date']}.json"
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def deliver_report(
    *,
    uow: UnitOfWork,
    report_id: int,
    sender: FeedbackSender,
    reports_dir: Path,
    now: datetime,
) -> DeliveryStatus:
    """Write the report file and POST it to the branch webhook when one is configured."""
    with uow:
        campaign_id, day, payload, _ = uow.reports.get(report_id)
        url = uow.campaigns.get(campaign_id).webhook_url
    path = write_report_file(payload, reports_dir)
    error: str | None = None
    if url:
        error = sender.send(url, payload, idempotency_key=f"{campaign_id}:{day.isoformat()}")
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
