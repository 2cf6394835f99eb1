"""Use cases. Each takes a unit of work and IDs, opens its own transaction and commits it."""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from campaigns.access import Principal, Role, check_new_user, hash_password, verify_password
from campaigns.errors import NotFoundError, ValidationError
from campaigns.feasibility import FeasibilityInputs, Rates, assess_feasibility, rates_from_history
from campaigns.feedback import Funnel, build_funnel
from campaigns.intake import ListFile, ListLimits, ListRow
from campaigns.ledger import ACTIVE_STATES, CleaningTally, ledger, mask_of
from campaigns.model import (
    BranchRecord,
    CallingHours,
    CampaignRecord,
    CampaignRequestDraft,
    CampaignState,
    CleaningPolicy,
    CleaningVerdict,
    ContactFacts,
    ContactState,
    ExclusionReason,
    Phase,
    RowProblem,
    Verdict,
)
from campaigns.ports import SubscriberSource, UnitOfWork
from campaigns.rules import (
    CHINA_DEFAULT_HOURS,
    duplicate_flags,
    evaluate_contact,
    hours_overlap,
)
from campaigns.states import check_transition
from campaigns.trial import (
    DEFAULT_MAX_SIZE,
    TrialOutcome,
    TrialSample,
    TrialThresholds,
    allocate_sample,
    decide_trial,
)

# --------------------------------------------------------------------------- lifecycle


def transition(
    *,
    uow: UnitOfWork,
    campaign_id: int,
    target: CampaignState,
    actor: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> CampaignRecord:
    """Move a campaign to `target` if the lifecycle allows it, and audit the move. Commits."""
    with uow:
        current = uow.campaigns.get(campaign_id, for_update=True)
        check_transition(current.state, target, campaign_id=campaign_id)
        uow.campaigns.update(campaign_id, now=now, state=target)
        uow.audit.append(
            actor=actor,
            entity="campaign",
            entity_id=campaign_id,
            action="transition",
            at=now,
            from_state=current.state.value,
            to_state=target.value,
            detail=detail,
        )
        uow.commit()
        return uow.campaigns.get(campaign_id)


def record_action(
    *,
    uow: UnitOfWork,
    campaign_id: int,
    action: str,
    actor: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """Audit an action on a campaign that is not a state change (a run started, a report
    sent again). Commits."""
    with uow:
        uow.audit.append(
            actor=actor,
            entity="campaign",
            entity_id=campaign_id,
            action=action,
            at=now,
            detail=detail,
        )
        uow.commit()


def attach_flow_run(
    *, uow: UnitOfWork, campaign_id: int, flow_run_id: str | None, now: datetime
) -> None:
    """Remember (or forget) the flow run waiting at the campaign's approval gate."""
    with uow:
        uow.campaigns.update(campaign_id, now=now, flow_run_id=flow_run_id)
        uow.commit()


def branch_today(*, uow: UnitOfWork, branch_code: str, now: datetime) -> date:
    """The date at the branch at `now`: the first day a request from it may start."""
    with uow:
        branch = uow.catalogue.branch_by_code(branch_code)
        if branch is None:
            raise NotFoundError(f"unknown branch {branch_code!r}")
        return now.astimezone(ZoneInfo(branch.timezone)).date()


def get_campaign(*, uow: UnitOfWork, campaign_id: int) -> CampaignRecord:
    """Read one campaign."""
    with uow:
        return uow.campaigns.get(campaign_id)


def configure_branch(
    *,
    uow: UnitOfWork,
    code: str,
    actor: str,
    now: datetime,
    monthly_quota: int | None = None,
    webhook_url: str | None = None,
    clear_quota: bool = False,
) -> BranchRecord:
    """Set a branch's monthly contact quota and/or feedback webhook; audited."""
    if monthly_quota is not None and monthly_quota < 0:
        raise ValidationError("a monthly quota cannot be negative")
    if (
        webhook_url is not None
        and webhook_url
        and not webhook_url.startswith(("http://", "https://"))
    ):
        raise ValidationError(f"the webhook must be an http(s) URL, not {webhook_url!r}")
    with uow:
        branch = uow.catalogue.branch_by_code(code)
        if branch is None:
            raise NotFoundError(f"unknown branch {code!r}")
        changes: dict[str, Any] = {}
        if monthly_quota is not None or clear_quota:
            changes["monthly_quota"] = None if clear_quota else monthly_quota
        if webhook_url is not None:
            changes["webhook_url"] = webhook_url or None
        uow.catalogue.update_branch(branch.id, **changes)
        uow.audit.append(
            actor=actor,
            entity="branch",
            entity_id=branch.id,
            action="configured",
            at=now,
            detail=changes,
        )
        uow.commit()
        updated = uow.catalogue.branch_by_code(code)
        assert updated is not None
        return updated


# --------------------------------------------------------------------------- intake


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """What a submission produced."""

    campaign_id: int
    duplicate: bool
    rows: int
    valid_numbers: int
    problems: tuple[RowProblem, ...] = field(default=())
    problem_count: int = 0


def request_hash(draft: CampaignRequestDraft, file_digest: str) -> str:
    """Content hash identifying a request: its fields plus the digest of its list file."""
    parts = [
        draft.branch_code,
        draft.offer_code,
        draft.target_group,
        str(draft.requested_contacts),
        str(draft.goal_activations),
        str(draft.goal_conversion_rate),
        ",".join(draft.segment_filters),
        draft.window_start.isoformat(),
        draft.window_end.isoformat(),
        draft.month,
        file_digest,
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _validate_draft(draft: CampaignRequestDraft, today: date) -> None:
    if draft.window_end < draft.window_start:
        raise ValidationError(
            f"the date window is reversed: it ends {draft.window_end} before it starts "
            f"{draft.window_start}; swap the two dates"
        )
    if draft.window_end < today:
        raise ValidationError(
            f"the date window ended on {draft.window_end}, which is in the past; "
            f"choose dates from {today} on"
        )
    if draft.window_start < today:
        raise ValidationError(
            f"the date window starts on {draft.window_start}, which is in the past; "
            f"start on {today} or later"
        )
    rate = draft.goal_conversion_rate
    if rate is not None:
        if not 0 < rate <= 1:
            raise ValidationError(
                f"the goal conversion rate must be between 0 and 1 (e.g. 0.08 for 8%), not {rate}"
            )
    elif draft.goal_activations <= 0:
        raise ValidationError(
            "the goal must be at least 1 activation (or give a conversion rate instead)"
        )
    if draft.requested_contacts < 0:
        raise ValidationError("the requested number of contacts cannot be negative")
    try:
        month_start = date.fromisoformat(f"{draft.month}-01")
    except ValueError:
        raise ValidationError(f"the month must look like 2026-11, not {draft.month!r}") from None
    month_end = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    if draft.window_end < month_start or draft.window_start > month_end:
        raise ValidationError(
            f"the date window {draft.window_start}…{draft.window_end} lies outside the month "
            f"{draft.month} the request belongs to"
        )


def submit_request(
    *,
    uow: UnitOfWork,
    draft: CampaignRequestDraft,
    rows: ListFile | Iterable[ListRow],
    file_digest: str,
    list_filename: str,
    now: datetime,
    limits: ListLimits | None = None,
    calling_hours: CallingHours | None = None,
    source: SubscriberSource | None = None,
) -> SubmitResult:
    """Validate a branch request and store it with its list, all or nothing.

    `rows` is the list file itself (read by the storage's own reader) or its rows as
    `campaigns.intake.iter_rows` gives them. They are streamed into the database inside one
    transaction; any reason to reject the request (limits, too many bad rows, the monthly
    quota) rolls it back.
    """
    lim = limits or ListLimits()
    with uow:
        branch = uow.catalogue.branch_by_code(draft.branch_code)
        if branch is None:
            raise NotFoundError(f"unknown branch {draft.branch_code!r}")
        offer = uow.catalogue.offer_by_code(draft.offer_code)
        if offer is None:
            raise NotFoundError(f"unknown offer {draft.offer_code!r}")
        _validate_draft(draft, now.astimezone(ZoneInfo(branch.timezone)).date())

        digest = request_hash(draft, file_digest)
        existing = uow.campaigns.find_by_hash(digest)
        if existing is not None:
            counts = uow.contacts.count_by_state(existing)
            return SubmitResult(existing, True, sum(counts.values()), 0)

        campaign_id = uow.campaigns.add(
            branch_id=branch.id,
            offer_id=offer.id,
            target_group=draft.target_group,
            requested_contacts=draft.requested_contacts,
            goal_activations=max(draft.goal_activations, 1),
            window_start=draft.window_start,
            window_end=draft.window_end,
            month=draft.month,
            list_filename=list_filename,
            content_hash=digest,
            submitted_by=draft.submitted_by,
            name=f"{branch.code}-{offer.code}-{draft.month}",
            calling_hours=calling_hours or CallingHours(),
            now=now,
        )
        # Against the snapshot the list is cleaned as it is stored (the preview's policy:
        # the request's segment filters); a CRM source cleans it later, batch by batch.
        loaded = uow.lists.load(
            campaign_id,
            rows,
            region=branch.region,
            max_rows=lim.max_rows,
            policy=CleaningPolicy(segments=draft.segment_filters) if source is None else None,
            now=now,
        )
        seen, stored, valid = loaded.seen, loaded.stored, loaded.valid
        problems, problem_count = list(loaded.problems), loaded.problem_count
        if stored == 0:
            raise ValidationError("the list is empty: it has a header but no rows with a number")
        if problem_count / seen > lim.max_problem_share:
            examples = "; ".join(f"row {p.row_number}: {p.reason}" for p in problems[:5])
            raise ValidationError(
                f"{problem_count:,} of {seen:,} rows ({problem_count / seen:.0%}) have problems, "
                f"over the limit of {lim.max_problem_share:.0%}; fix the list and submit again "
                f"(e.g. {examples})"
            )
        used = uow.campaigns.contacts_requested(
            branch.id, draft.month, exclude_campaign=campaign_id
        )
        if branch.monthly_quota is not None and used + stored > branch.monthly_quota:
            raise ValidationError(
                f"branch {branch.code}'s monthly quota is {branch.monthly_quota:,} contacts for "
                f"{draft.month}: {used:,} are already requested and this list adds {stored:,}"
            )
        goal = draft.goal_activations
        if draft.goal_conversion_rate is not None:
            goal = max(1, math.ceil(draft.goal_conversion_rate * valid))
        uow.campaigns.record_list(
            campaign_id,
            rows=stored,
            requested_contacts=draft.requested_contacts or stored,
            goal_activations=goal,
            goal_conversion_rate=draft.goal_conversion_rate,
            segment_filters=list(draft.segment_filters),
            problem_count=problem_count,
            problems=[[p.row_number, p.raw, p.reason] for p in problems],
        )
        uow.audit.append(
            actor=draft.submitted_by,
            entity="campaign",
            entity_id=campaign_id,
            action="submitted",
            at=now,
            to_state=CampaignState.SUBMITTED.value,
            detail={
                "rows": stored,
                "valid_numbers": valid,
                "row_problems": problem_count,
                "file": list_filename,
                "hash": digest,
            },
        )
        uow.commit()
        return SubmitResult(campaign_id, False, stored, valid, tuple(problems), problem_count)


# --------------------------------------------------------------------------- cleaning


def policy_for(campaign: CampaignRecord) -> CleaningPolicy:
    """The campaign's stored cleaning policy; the request's segment filters apply by default."""
    policy = CleaningPolicy.from_dict(campaign.cleaning_policy)
    if not policy.segments and campaign.segment_filters:
        policy = replace(policy, segments=campaign.segment_filters)
    return policy


def _latest(*times: datetime | None) -> datetime | None:
    return max((t for t in times if t is not None), default=None)


def _verdict_batches(
    uow: UnitOfWork,
    campaign: CampaignRecord,
    *,
    source: SubscriberSource,
    policy: CleaningPolicy,
    now: datetime,
    batch_size: int,
) -> Iterator[list[CleaningVerdict]]:
    """Run every exclusion rule over the list in row order, one batch of verdicts at a time.

    Each batch costs a fixed handful of set-based look-ups, whatever its size. A verdict's
    contact_id is the row's number in the list.
    """
    offer = uow.catalogue.offer(campaign.offer_id)
    exclusive_ids = set(uow.catalogue.exclusive_service_ids(offer.id))
    exclusive = {o.code for o in uow.catalogue.offers() if o.id in exclusive_ids}
    seen: set[str] = set()
    after = 0
    while batch := uow.contacts.batch_for_cleaning(campaign.id, after_row=after, limit=batch_size):
        after = batch[-1][0]
        numbers = sorted({n for _, n, _, _ in batch if n is not None})
        subscribers = source.lookup(numbers)
        ours = uow.attempts.last_attempts(numbers, exclude_campaign=campaign.id)
        refused = uow.attempts.last_refusals(
            numbers, offer_id=offer.id, exclude_campaign=campaign.id
        )
        elsewhere = uow.contacts.in_other_campaigns(numbers, campaign.id, ACTIVE_STATES)
        dnc = uow.dnc.blocked(numbers, campaign_id=campaign.id, now=now)
        # Duplicates are judged across the whole list, so earlier batches' numbers count too.
        dup_flags = duplicate_flags(n for _, n, _, _ in batch)
        verdicts = []
        for (row, number, mobile, intake), dup_in_batch in zip(batch, dup_flags, strict=True):
            invalid = None
            if number is None:
                invalid = intake or ExclusionReason.INVALID_NUMBER
            elif offer.requires_mobile and not mobile:
                invalid = ExclusionReason.NOT_MOBILE
            sub = subscribers.get(number) if number else None
            facts = ContactFacts(
                contact_id=row,
                e164=number,
                invalid_reason=invalid,
                duplicate_of_earlier_row=dup_in_batch or (number in seen),
                subscriber_status=sub.status if sub else None,
                holds_offer=sub is not None and offer.code in sub.services,
                holds_exclusive=sub is not None and bool(exclusive & sub.services),
                last_contacted_at=_latest(
                    sub.last_contacted_at if sub else None, ours.get(number or "")
                ),
                has_follow_up=sub is not None and sub.has_follow_up,
                on_dnc=number in dnc,
                last_refused_at=refused.get(number or ""),
                in_other_campaign=number in elsewhere,
                out_of_region=sub is not None
                and sub.branch_code is not None
                and sub.branch_code != campaign.branch_code,
                segment=sub.segment if sub else None,
            )
            verdicts.append(evaluate_contact(facts, policy, now))
        seen.update(numbers)
        yield verdicts


def _tally(
    uow: UnitOfWork,
    campaign: CampaignRecord,
    *,
    source: SubscriberSource | None,
    policy: CleaningPolicy,
    now: datetime,
    batch_size: int,
    write_due_at: datetime | None,
) -> CleaningTally:
    if source is None:
        # The snapshot lives in our database: evaluate every rule there in one pass.
        return uow.cleaner.tally(campaign.id, policy, now, due_at=write_due_at)
    # An outside source (the CRM) is asked batch by batch; the verdicts are the same.
    tally = CleaningTally()
    masks: list[tuple[int, int]] = []
    for verdicts in _verdict_batches(
        uow, campaign, source=source, policy=policy, now=now, batch_size=batch_size
    ):
        for v in verdicts:
            tally.add(v.all_reasons)
            masks.append((v.contact_id, mask_of(v.all_reasons)))
    if write_due_at is not None:
        # Written once every batch is judged: a row moves between contacts and exclusions,
        # and the batches read both in row order.
        uow.cleaner.apply(campaign.id, masks, due_at=write_due_at)
    return tally


def preview_cleaning(
    *,
    uow: UnitOfWork,
    campaign_id: int,
    now: datetime,
    policy: CleaningPolicy | None = None,
    source: SubscriberSource | None = None,
    batch_size: int = 5_000,
) -> CleaningTally:
    """What cleaning would exclude, and why, without writing anything."""
    with uow:
        campaign = uow.campaigns.get(campaign_id)
        return _tally(
            uow,
            campaign,
            source=source,
            policy=policy or policy_for(campaign),
            now=now,
            batch_size=batch_size,
            write_due_at=None,
        )


def clean(
    *,
    uow: UnitOfWork,
    campaign_id: int,
    now: datetime,
    policy: CleaningPolicy | None = None,
    source: SubscriberSource | None = None,
    actor: str = "system",
    batch_size: int = 5_000,
) -> dict[str, int]:
    """Run every exclusion rule over the list and write the ledger; idempotent until dialing.

    From APPROVED the campaign passes through CLEANING to READY; a READY campaign (not yet
    dialled) may be cleaned again, e.g. after a policy change, and stays READY.
    """
    campaign = get_campaign(uow=uow, campaign_id=campaign_id)
    if campaign.state is not CampaignState.READY:
        transition(
            uow=uow, campaign_id=campaign_id, target=CampaignState.CLEANING, actor=actor, now=now
        )
    pol = policy or policy_for(campaign)
    with uow:
        campaign = uow.campaigns.get(campaign_id, for_update=True)
        if campaign.state not in (CampaignState.CLEANING, CampaignState.READY):
            check_transition(campaign.state, CampaignState.CLEANING, campaign_id=campaign_id)
        # Kept contacts become due when the window first opens, whatever the cleaning time.
        first_call = day_window(
            campaign.window_start, campaign.calling_hours, campaign.branch_timezone
        )[0]
        tally = _tally(
            uow,
            campaign,
            source=source,
            policy=pol,
            now=now,
            batch_size=batch_size,
            write_due_at=first_call,
        )
        summary = tally.summary()
        uow.campaigns.update(
            campaign_id,
            now=now,
            cleaning_summary=summary,
            cleaning_policy=pol.to_dict(),
            cleaning_ledger=ledger(tally, pol, now),
        )
        uow.audit.append(
            actor=actor,
            entity="campaign",
            entity_id=campaign_id,
            action="cleaned",
            at=now,
            detail=summary | {"policy": pol.to_dict()},
        )
        uow.commit()
    if campaign.state is CampaignState.CLEANING:
        transition(
            uow=uow, campaign_id=campaign_id, target=CampaignState.READY, actor=actor, now=now
        )
    return summary


def configure_cleaning(
    *, uow: UnitOfWork, campaign_id: int, policy: CleaningPolicy, actor: str, now: datetime
) -> CampaignRecord:
    """Store a campaign's cleaning policy (before it dials); audited."""
    with uow:
        campaign = uow.campaigns.get(campaign_id, for_update=True)
        if campaign.state not in CONFIGURABLE_STATES:
            raise ValidationError(
                f"campaign {campaign_id} is {campaign.state.value}; its cleaning rules can only "
                "change before dialing starts"
            )
        uow.campaigns.update(campaign_id, now=now, cleaning_policy=policy.to_dict())
        uow.audit.append(
            actor=actor,
            entity="campaign",
            entity_id=campaign_id,
            action="cleaning_configured",
            at=now,
            detail=policy.to_dict(),
        )
        uow.commit()
        return uow.campaigns.get(campaign_id)


# --------------------------------------------------------------------------- feasibility

#: States in which the cleaning policy may still change.
CONFIGURABLE_STATES = (
    CampaignState.SUBMITTED,
    CampaignState.FEASIBILITY,
    CampaignState.APPROVED,
    CampaignState.READY,
)


def run_feasibility(
    *,
    uow: UnitOfWork,
    campaign_id: int,
    now: datetime,
    actor: str = "system",
    prior: Rates | None = None,
    allowed_hours: CallingHours = CHINA_DEFAULT_HOURS,
    source: SubscriberSource | None = None,
) -> dict[str, Any]:
    """Check valid numbers, a cleaning preview, capacity, conversions, overlap, script; store it."""
    campaign = get_campaign(uow=uow, campaign_id=campaign_id)
    check_transition(campaign.state, CampaignState.FEASIBILITY, campaign_id=campaign_id)
    preview = preview_cleaning(uow=uow, campaign_id=campaign_id, now=now, source=source)
    with uow:
        list_size = uow.contacts.count_all(campaign_id)
        valid = uow.contacts.count_valid(campaign_id)
        agents = len(uow.catalogue.outbound_agents())
        rates = rates_from_history(
            uow.campaigns.history(campaign.offer_id, exclude_campaign=campaign_id),
            prior or Rates(),
        )
        overlap = uow.campaigns.overlap(campaign_id, ACTIVE_STATES)
        script = uow.catalogue.latest_script(campaign.offer_id)
        problem_count, _ = uow.campaigns.row_problems(campaign_id)
    today = now.astimezone(ZoneInfo(campaign.branch_timezone)).date()
    days = max(0, (campaign.window_end - max(campaign.window_start, today)).days + 1)
    inside = hours_overlap(campaign.calling_hours, allowed_hours)
    report = assess_feasibility(
        FeasibilityInputs(
            list_size=list_size,
            valid_numbers=valid,
            callable_contacts=preview.kept,
            agents=agents,
            hours_per_day=inside,
            days=days,
            goal_activations=campaign.goal_activations,
            rates=rates,
            requested_contacts=campaign.requested_contacts,
            overlap=overlap,
            script_exists=script is not None,
            hours_outside_rules=round(campaign.calling_hours.hours_per_day - inside, 2),
        )
    )
    payload = report.to_dict() | {
        "list_size": list_size,
        "valid_numbers": valid,
        "row_problems": problem_count,
        "agents": agents,
        "days": days,
        "hours_per_day": inside,
        "calling_hours": f"{campaign.calling_hours.start:%H:%M}-{campaign.calling_hours.end:%H:%M}",
        "allowed_hours": f"{allowed_hours.start:%H:%M}-{allowed_hours.end:%H:%M}",
        "script_version": script.version if script else None,
        "rates": asdict(rates),
        "cleaning_preview": preview.summary(),
        "cleaning_alone": dict(sorted(preview.alone.items())),
        "cleaning_policy": policy_for(campaign).to_dict(),
        "checked_at": now.isoformat(),
    }
    with uow:
        current = uow.campaigns.get(campaign_id, for_update=True)
        check_transition(current.state, CampaignState.FEASIBILITY, campaign_id=campaign_id)
        uow.campaigns.update(
            campaign_id, now=now, state=CampaignState.FEASIBILITY, feasibility=payload
        )
        uow.audit.append(
            actor=actor,
            entity="campaign",
            entity_id=campaign_id,
            action="transition",
            at=now,
            from_state=current.state.value,
            to_state=CampaignState.FEASIBILITY.value,
            detail={"verdict": report.verdict.value},
        )
        uow.commit()
    return payload


def decide(
    *,
    uow: UnitOfWork,
    campaign_id: int,
    approve: bool,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> CampaignRecord:
    """A reviewer's decision on a feasibility report: approve, or reject with a note."""
    if not approve and not (note and note.strip()):
        raise ValidationError("a rejection needs a note that tells the branch why")
    campaign = get_campaign(uow=uow, campaign_id=campaign_id)
    if approve and verdict_of(campaign) is Verdict.INFEASIBLE and not (note and note.strip()):
        raise ValidationError(
            "the feasibility verdict is INFEASIBLE; approving it needs a note that says why"
        )
    target = CampaignState.APPROVED if approve else CampaignState.REJECTED
    return transition(
        uow=uow, campaign_id=campaign_id, target=target, actor=actor, now=now, detail={"note": note}
    )


def assign_script(
    *, uow: UnitOfWork, campaign_id: int, now: datetime, actor: str = "system"
) -> int:
    """Give the campaign the newest published script of its offer; returns the version."""
    with uow:
        campaign = uow.campaigns.get(campaign_id)
        script = uow.catalogue.latest_script(campaign.offer_id)
        if script is None:
            raise ValidationError(f"offer {campaign.offer_code} has no published call script")
        uow.campaigns.update(campaign_id, now=now, script_id=script.id)
        uow.audit.append(
            actor=actor,
            entity="campaign",
            entity_id=campaign_id,
            action="script_assigned",
            at=now,
            detail={"script_id": script.id, "version": script.version},
        )
        uow.commit()
        return script.version


# --------------------------------------------------------------------------- trial gate


def start_trial(
    *,
    uow: UnitOfWork,
    campaign_id: int,
    now: datetime,
    size: int | None = None,
    share: float | None = None,
    max_size: int | None = DEFAULT_MAX_SIZE,
    actor: str = "system",
) -> dict[str, Any]:
    """Pick a trial sample stratified by segment and move the campaign to TRIAL.

    The sample is `size` contacts or a `share` of the READY ones (5 % by default, at most
    `max_size`), split over the subscriber segments in proportion. Returns
    {"sample", "ready", "allocation"}; the allocation per segment is audited with the move.
    """
    plan = TrialSample(size=size, share=share, max_size=max_size)
    # One transaction: a sample is never flagged without the move to TRIAL, or twice.
    with uow:
        current = uow.campaigns.get(campaign_id, for_update=True)
        check_transition(current.state, CampaignState.TRIAL, campaign_id=campaign_id)
        populations = uow.contacts.ready_by_segment(campaign_id)
        ready = sum(populations.values())
        allocation = allocate_sample(populations, plan.size_for(ready))
        picked = uow.contacts.mark_trial_sample(
            campaign_id, {k: n for k, n in allocation.items() if n}
        )
        result: dict[str, Any] = {
            "sample": sum(picked.values()),
            "ready": ready,
            "allocation": dict(sorted(picked.items())),
        }
        uow.campaigns.update(campaign_id, now=now, state=CampaignState.TRIAL)
        uow.audit.append(
            actor=actor,
            entity="campaign",
            entity_id=campaign_id,
            action="transition",
            at=now,
            from_state=current.state.value,
            to_state=CampaignState.TRIAL.value,
            detail=result | {"segments": dict(sorted(populations.items()))},
        )
        uow.commit()
    return result


def trial_funnel(*, uow: UnitOfWork, campaign_id: int) -> Funnel:
    """The funnel of the trial's attempts only (phase TRIAL)."""
    with uow:
        campaign = uow.campaigns.get(campaign_id)
        by, dialled, talk = uow.attempts.counts(campaign_id, phase=Phase.TRIAL)
    return build_funnel(
        by,
        records_loaded=dialled,
        records_callable=dialled,
        records_dialled=dialled,
        talk_seconds=talk,
        goal_activations=campaign.goal_activations,
    )


def review_trial(
    *,
    uow: UnitOfWork,
    campaign_id: int,
    now: datetime,
    thresholds: TrialThresholds | None = None,
    actor: str = "system",
) -> dict[str, Any]:
    """Close the trial, measure it against the thresholds and record the decision it advises.

    The campaign moves to TRIAL_REVIEW whatever the outcome; `settle_trial` acts on it.
    Returns {"go", "decision", "problems", "reasons", "funnel", "thresholds"}.
    """
    t = thresholds or TrialThresholds()
    funnel = trial_funnel(uow=uow, campaign_id=campaign_id)
    decision = decide_trial(funnel, t)
    problems = [] if decision.go else list(decision.reasons)
    result = {
        "go": decision.go,
        "decision": decision.outcome.value,
        "problems": problems,
        "reasons": list(decision.reasons),
        "funnel": funnel.to_dict(),
        "thresholds": t.to_dict(),
    }
    transition(
        uow=uow,
        campaign_id=campaign_id,
        target=CampaignState.TRIAL_REVIEW,
        actor=actor,
        now=now,
        detail={
            "go": decision.go,
            "decision": decision.outcome.value,
            "problems": problems,
            "reasons": list(decision.reasons),
        },
    )
    return result


def decide_after_trial(
    *,
    uow: UnitOfWork,
    campaign_id: int,
    go: bool,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> CampaignRecord:
    """A person's go/no-go on a trial under review: LIVE, or CANCELLED with a note."""
    if not go and not (note and note.strip()):
        raise ValidationError("a no-go needs a note that says why the campaign stops")
    detail: dict[str, Any] = {"decision": "go" if go else "no-go"}
    if note:
        detail["note"] = note
    return transition(
        uow=uow,
        campaign_id=campaign_id,
        target=CampaignState.LIVE if go else CampaignState.CANCELLED,
        actor=actor,
        now=now,
        detail=detail,
    )


def settle_trial(
    *,
    uow: UnitOfWork,
    campaign_id: int,
    now: datetime,
    thresholds: TrialThresholds | None = None,
    auto_go: bool = True,
    actor: str = "system",
) -> dict[str, Any]:
    """Review the trial and act on its decision; returns the review with the new "state".

    PROMOTE goes LIVE (only with `auto_go`; without it a person decides), STOP cancels the
    campaign with the problems in the audit, REVIEW leaves it in TRIAL_REVIEW for a person.
    """
    review = review_trial(
        uow=uow, campaign_id=campaign_id, now=now, thresholds=thresholds, actor=actor
    )
    outcome = TrialOutcome(review["decision"])
    state = CampaignState.TRIAL_REVIEW
    if outcome is TrialOutcome.PROMOTE and auto_go:
        state = transition(
            uow=uow,
            campaign_id=campaign_id,
            target=CampaignState.LIVE,
            actor=f"{actor}:trial-gate",
            now=now,
            detail={"trial": "passed", "decision": outcome.value},
        ).state
    elif outcome is TrialOutcome.STOP:
        state = transition(
            uow=uow,
            campaign_id=campaign_id,
            target=CampaignState.CANCELLED,
            actor=f"{actor}:trial-gate",
            now=now,
            detail={"reason": "trial stopped", "problems": review["problems"]},
        ).state
    return review | {"state": state.value}


def day_window(day: date, hours: CallingHours, tz: str) -> tuple[datetime, datetime]:
    """The calling window of a local day as aware datetimes."""
    zone = ZoneInfo(tz)
    return (
        datetime.combine(day, hours.start, tzinfo=zone),
        datetime.combine(day, hours.end, tzinfo=zone),
    )


def local_day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """Midnight to midnight of a local day."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(tz))
    return start, start + timedelta(days=1)


def day_slices(
    day: date, campaign: CampaignRecord, hours_per_slice: int = 1
) -> list[tuple[datetime, datetime]]:
    """A day's calling window cut into slices of about an hour: the unit of dialing work."""
    open_, close = day_window(day, campaign.calling_hours, campaign.branch_timezone)
    out = []
    t = open_
    while t < close:
        out.append((t, min(close, t + timedelta(hours=hours_per_slice))))
        t += timedelta(hours=hours_per_slice)
    return out


def dialing_days(campaign: CampaignRecord) -> list[date]:
    """Every day of the campaign window."""
    n = (campaign.window_end - campaign.window_start).days + 1
    return [campaign.window_start + timedelta(days=i) for i in range(n)]


def contacts_remaining(*, uow: UnitOfWork, campaign_id: int) -> int:
    """Contacts still to be dialled (READY or claimed)."""
    with uow:
        counts = uow.contacts.count_by_state(campaign_id)
    return counts.get(ContactState.READY, 0) + counts.get(ContactState.DIALING, 0)


def verdict_of(campaign: CampaignRecord) -> Verdict | None:
    """The stored feasibility verdict, if any."""
    if not campaign.feasibility:
        return None
    return Verdict(str(campaign.feasibility["verdict"]))


def refresh_contact_reach(
    *,
    uow: UnitOfWork,
    campaign_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
) -> None:
    """Bring the funnel stage each contact reached up to date with the attempts of a
    dialing slice [start, end), or with every attempt of the campaign (no bounds); the
    whole campaign also catches an outcome recorded slices later (a call whose worker was
    killed keeps the hour it was dialled). Idempotent. Commits."""
    with uow:
        uow.dashboard.refresh_reach(campaign_id, start=start, end=end)
        uow.commit()


# ------------------------------------------------------------------------------ users


def add_user(
    *,
    uow: UnitOfWork,
    username: str,
    password: str,
    role: Role,
    branch_code: str | None = None,
    pii: bool = False,
    actor: str,
    now: datetime,
    display_name: str | None = None,
) -> int:
    """Create a dashboard user; ValidationError says what to change."""
    check_new_user(username, password, role, branch_code)
    with uow:
        if uow.users.find(username) is not None:
            raise ValidationError(f"user {username!r} exists already")
        branch_id = None
        if branch_code:
            branch = uow.catalogue.branch_by_code(branch_code)
            if branch is None:
                raise NotFoundError(f"unknown branch {branch_code!r}")
            branch_id = branch.id
        user_id = uow.users.add(
            username=username,
            password_hash=hash_password(password),
            role=role,
            branch_id=branch_id,
            pii=pii,
            now=now,
            display_name=display_name or None,
        )
        uow.audit.append(
            actor=actor,
            entity="user",
            entity_id=user_id,
            action="user_added",
            at=now,
            detail={"username": username, "role": role.value, "branch": branch_code, "pii": pii},
        )
        uow.commit()
        return user_id


def authenticate(*, uow: UnitOfWork, username: str, password: str) -> Principal | None:
    """The principal for a correct name and password of an enabled user, else None."""
    with uow:
        user = uow.users.find(username)
    # A wrong name costs a hash like a wrong password, so names cannot be probed by timing.
    stored = user["password_hash"] if user else _dummy_hash()
    if not verify_password(password, stored) or user is None or user["disabled"]:
        return None
    return Principal(
        user["username"],
        Role(user["role"]),
        user["branch_code"],
        user["pii"],
        user["display_name"],
    )


def set_user_disabled(
    *, uow: UnitOfWork, username: str, disabled: bool, actor: str, now: datetime
) -> None:
    """Disable (or enable again) a user; NotFoundError if there is none."""
    with uow:
        if not uow.users.set_disabled(username, disabled):
            raise NotFoundError(f"no user {username!r}")
        uow.audit.append(
            actor=actor,
            entity="user",
            entity_id=None,
            action="user_disabled" if disabled else "user_enabled",
            at=now,
            detail={"username": username},
        )
        uow.commit()


def list_users(*, uow: UnitOfWork) -> list[dict[str, Any]]:
    """Every user without its password hash."""
    with uow:
        return [{k: v for k, v in u.items() if k != "password_hash"} for u in uow.users.all()]


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not a password", salt=b"0" * 16)
