"""Read models for the CLI, the dashboard and reports: plain dicts, no ORM objects."""

from __future__ import annotations

from typing import Any

from campaigns.feedback import build_funnel
from campaigns.model import ContactState, Disposition
from campaigns.ports import UnitOfWork


def campaign_list(*, uow: UnitOfWork) -> list[dict[str, Any]]:
    """Every campaign with its headline figures, newest first."""
    with uow:
        out = []
        for c in uow.campaigns.all():
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
        return {
            "id": c.id,
            "name": c.name,
            "state": c.state.value,
            "branch": c.branch_code,
            "offer": c.offer_code,
            "window_start": c.window_start,
            "window_end": c.window_end,
            "feasibility": c.feasibility,
            "contacts_by_state": {k.value: v for k, v in sorted(states.items())},
            "exclusions": {
                k.value: v for k, v in sorted(exclusions.items(), key=lambda kv: -kv[1])
            },
            "dispositions": {k.value: v for k, v in sorted(by.items(), key=lambda kv: -kv[1])},
            "funnel": funnel.to_dict(),
            "audit": uow.audit.for_entity("campaign", campaign_id),
        }


def daily_reports(*, uow: UnitOfWork, campaign_id: int) -> list[dict[str, Any]]:
    """Stored daily reports of a campaign, flattened for tables and charts."""
    with uow:
        rows = uow.reports.list_for(campaign_id)
    out = []
    for r in rows:
        day = r["payload"]["day"]
        out.append(
            {
                "date": r["date"],
                "attempts": day["attempts"],
                "connected": day["connected"],
                "right_party": day["right_party"],
                "successes": day["successes"],
                "complaints": day["complaints"],
                "conversion_per_rpc": day["conversion_per_rpc"],
                "completion": r["payload"]["completion"],
                "delivery_status": r["delivery_status"].value,
                "file_path": r["file_path"],
            }
        )
    return out


FUNNEL_STAGES = (
    ("records_loaded", "records"),
    ("records_dialled", "dialled"),
    ("connected", "connected"),
    ("right_party", "account holder verified"),
    ("pitched", "pitched"),
    ("successes", "success"),
)


def funnel_stages(status: dict[str, Any]) -> list[dict[str, Any]]:
    """The funnel as ordered (stage, count, share of records) rows for a chart."""
    f = status["funnel"]
    base = f["records_loaded"] or 1
    return [
        {"order": i, "stage": label, "count": f[key], "share": round(f[key] / base, 4)}
        for i, (key, label) in enumerate(FUNNEL_STAGES)
    ]
