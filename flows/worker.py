"""A dialing worker without Prefect: dials a LIVE or TRIAL campaign from where it stands.

`outbound dial N` runs it. It is the same slice loop the campaign flow drives, for a
second machine or a restart by hand: every slice starts at the campaign's latest dial
(or the end of its last finished slice), so a worker killed at any point and started
again continues there, and the attempt keys on record make sure no call is placed twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from campaigns import services
from campaigns.dialing import SliceSummary, run_slice
from campaigns.errors import UserError
from campaigns.model import CampaignState, Phase
from flows.bootstrap import App


def dial(
    app: App,
    campaign_id: int,
    *,
    max_slices: int | None = None,
    worker: str | None = None,
    on_slice: Callable[[datetime, datetime, SliceSummary], None] | None = None,
) -> dict[str, Any]:
    """Dial the campaign slice by slice until it is done, paused, or `max_slices` ran."""
    try:
        return _dial(app, campaign_id, max_slices=max_slices, worker=worker, on_slice=on_slice)
    finally:
        # Each slice brought its own hours' contact stages up to date; once per run, the
        # whole campaign catches outcomes an earlier, killed worker left to later slices.
        services.refresh_contact_reach(uow=app.uow(), campaign_id=campaign_id)


def _dial(
    app: App,
    campaign_id: int,
    *,
    max_slices: int | None,
    worker: str | None,
    on_slice: Callable[[datetime, datetime, SliceSummary], None] | None,
) -> dict[str, Any]:
    campaign = services.get_campaign(uow=app.uow(), campaign_id=campaign_id)
    phases = {CampaignState.LIVE: Phase.LIVE, CampaignState.TRIAL: Phase.TRIAL}
    if campaign.state not in phases:
        raise UserError(
            f"campaign {campaign_id} is {campaign.state.value}; only LIVE or TRIAL campaigns dial"
        )
    phase = phases[campaign.state]
    simulated = app.dialer().simulated_time
    with app.uow() as uow:
        latest = uow.attempts.latest_dial_at(campaign_id)
    marks = [t for t in (campaign.dialed_until, latest) if t is not None]
    floor = max(marks) if marks else None
    total = SliceSummary()
    ran = 0
    outcome = "window-ended"
    for day in services.dialing_days(campaign):
        for start, end in services.day_slices(day, campaign):
            if not simulated:
                now = datetime.now(UTC)
                floor = max(floor, now) if floor else now
            if floor is not None and end <= floor:
                continue
            if max_slices is not None and ran >= max_slices:
                return _result("slice-limit", ran, total)
            begin = max(start, floor) if floor is not None else start
            summary = run_slice(
                uow=app.uow(),
                dialer=app.dialer(seed=campaign_id * 1_000_003 + int(begin.timestamp())),
                campaign_id=campaign_id,
                phase=phase,
                start=begin,
                end=end,
                pacing=app.pacing(),
                worker=worker,
            )
            services.refresh_contact_reach(
                uow=app.uow(), campaign_id=campaign_id, start=begin, end=end
            )
            services.refresh_contact_reach(
                uow=app.uow(), campaign_id=campaign_id, start=begin, end=end
            )
            with app.uow() as uow:
                uow.campaigns.update(campaign_id, now=datetime.now(UTC), dialed_until=end)
                uow.commit()
            ran += 1
            floor = end
            total.add(summary)
            if on_slice is not None:
                on_slice(begin, end, summary)
            state = services.get_campaign(uow=app.uow(), campaign_id=campaign_id).state
            if state is not campaign.state:
                return _result(state.value, ran, total)
            if services.contacts_remaining(uow=app.uow(), campaign_id=campaign_id) == 0:
                return _result("exhausted", ran, total)
    return _result(outcome, ran, total)


def _result(outcome: str, slices: int, total: SliceSummary) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "slices": slices,
        "attempts": total.attempts,
        "successes": total.successes,
        "abandoned": total.abandoned,
        "live": total.live,
    }
