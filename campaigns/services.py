"""Use cases. Each takes a unit of work and IDs, opens its own transaction and commits it."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from campaigns.errors import NotFoundError, ValidationError
from campaigns.feasibility import FeasibilityInputs, assess_feasibility
from campaigns.feedback import build_funnel
from campaigns.model import (
    CallingHours,
    CampaignRecord,
    CampaignRequestDraft,
    CampaignState,
    CleaningPolicy,
    ContactFacts,
    ContactState,
    ExclusionReason,
    NewContact,
    Phase,
    Verdict,
)
from campaigns.phone import E164, normalise
from campaigns.ports import UnitOfWork
from campaigns.rules import duplicate_flags, evaluate_contact
from campaigns.states import check_transition

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


def get_campaign(*, uow: UnitOfWork, campaign_id: int) -> CampaignRecord:
    """Read one campaign."""
    with uow:
        return uow.campaigns.get(campaign_id)


# --------------------------------------------------------------------------- intake


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A list row that could not be used, with its 1-based row number."""

    row_number: int
    raw: str
    reason: str


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """What a submission produced."""

    campaign_id: int
    duplicate: bool
    rows: int
    valid_numbers: int
    problems: tuple[RowProblem, ...] = field(default=())


def request_hash(draft: CampaignRequestDraft, file_digest: str) -> str:
    """Content hash identifying a request: its fields plus the digest of its list file."""
    parts = [
        draft.branch_code,
        draft.offer_code,
        draft.target_group,
        str(draft.requested_contacts),
        str(draft.goal_activations),
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
            f"{draft.window_start}"
        )
    if draft.window_end < today:
        raise ValidationError(f"the date window ended on {draft.window_end}, which is in the past")
    if draft.goal_activations <= 0:
        raise ValidationError("the goal must be at least 1 activation")
    if draft.requested_contacts <= 0:
        raise ValidationError("the requested number of contacts must be at least 1")
    if len(draft.month) != 7 or draft.month[4] != "-":
        raise ValidationError(f"the month must look like 2026-11, not {draft.month!r}")


def submit_request(
    *,
    uow: UnitOfWork,
    draft: CampaignRequestDraft,
    rows: Iterable[tuple[int, str, dict[str, str] | None]],
    file_digest: str,
    list_filename: str,
    now: datetime,
    calling_hours: CallingHours | None = None,
) -> SubmitResult:
    """Validate a branch request and store it with its list, all or nothing."""
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

        contacts: list[NewContact] = []
        problems: list[RowProblem] = []
        valid = 0
        for row_number, raw, attrs in rows:
            result = normalise(raw, branch.region)
            if isinstance(result, E164):
                valid += 1
                contacts.append(NewContact(row_number, raw, result.value, result.is_mobile, attrs))
            else:
                problems.append(RowProblem(row_number, raw, result.reason.value))
                contacts.append(NewContact(row_number, raw, None, False, attrs))
        if not contacts:
            raise ValidationError("the list is empty: it has a header but no rows")

        campaign_id = uow.campaigns.add(
            branch_id=branch.id,
            offer_id=offer.id,
            target_group=draft.target_group,
            requested_contacts=draft.requested_contacts,
            goal_activations=draft.goal_activations,
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
        uow.contacts.add_many(campaign_id, contacts)
        uow.audit.append(
            actor=draft.submitted_by,
            entity="campaign",
            entity_id=campaign_id,
            action="submitted",
            at=now,
            to_state=CampaignState.SUBMITTED.value,
            detail={"rows": len(contacts), "valid_numbers": valid, "file": list_filename},
        )
        uow.commit()
        return SubmitResult(campaign_id, False, len(contacts), valid, tuple(problems))


# --------------------------------------------------------------------------- feasibility


@dataclass(frozen=True, slots=True)
class FeasibilityAssumptions:
    """Planning figures used until historical ones exist."""

    calls_per_agent_hour: float = 30.0
    attempts_per_contact: float = 1.8
    rpc_per_contact: float = 0.35
    conversion_per_rpc: float = 0.12
    min_valid_share: float = 0.8


def run_feasibility(
    *,
    uow: UnitOfWork,
    campaign_id: int,
    now: datetime,
    actor: str = "system",
    assumptions: FeasibilityAssumptions | None = None,
) -> dict[str, Any]:
    """Check capacity, valid numbers, expected conversions and the script; store the report."""
    a = assumptions or FeasibilityAssumptions()
    with uow:
        campaign = uow.campaigns.get(campaign_id, for_update=True)
        check_transition(campaign.state, CampaignState.FEASIBILITY, campaign_id=campaign_id)
        counts = uow.contacts.count_by_state(campaign_id)
        list_size = sum(counts.values())
        valid = list_size - uow.contacts.exclusion_counts(campaign_id).get(
            ExclusionReason.INVALID_NUMBER, 0
        )
        valid = _count_valid(uow, campaign_id) if valid == list_size else valid
        agents = len(uow.catalogue.outbound_agents())
        days = (campaign.window_end - campaign.window_start).days + 1
        report = assess_feasibility(
            FeasibilityInputs(
                list_size=list_size,
                valid_numbers=valid,
                agents=agents,
                hours_per_day=campaign.calling_hours.hours_per_day,
                days=days,
                calls_per_agent_hour=a.calls_per_agent_hour,
                attempts_per_contact=a.attempts_per_contact,
                rpc_per_contact=a.rpc_per_contact,
                conversion_per_rpc=a.conversion_per_rpc,
                goal_activations=campaign.goal_activations,
                script_exists=uow.catalogue.latest_script(campaign.offer_id) is not None,
                min_valid_share=a.min_valid_share,
            )
        )
        payload = report.to_dict() | {"list_size": list_size, "agents": agents, "days": days}
        uow.campaigns.update(
            campaign_id, now=now, state=CampaignState.FEASIBILITY, feasibility=payload
        )
        uow.audit.append(
            actor=actor,
            entity="campaign",
            entity_id=campaign_id,
            action="transition",
            at=now,
            from_state=campaign.state.value,
            to_state=CampaignState.FEASIBILITY.value,
            detail={"verdict": report.verdict.value},
        )
        uow.commit()
        return payload


def _count_valid(uow: UnitOfWork, campaign_id: int) -> int:
    valid = 0
    after = 0
    while batch := uow.contacts.batch_for_cleaning(campaign_id, after_row=after, limit=10_000):
        valid += sum(1 for _, _, number, _ in batch if number is not None)
        after = batch[-1][1]
    return valid


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


# --------------------------------------------------------------------------- cleaning


def clean(
    *,
    uow: UnitOfWork,
    campaign_id: int,
    now: datetime,
    policy: CleaningPolicy | None = None,
    actor: str = "system",
    batch_size: int = 5_000,
) -> dict[str, int]:
    """Run every exclusion rule over the list, in batches, and mark the campaign READY."""
    pol = policy or CleaningPolicy()
    transition(
        uow=uow, campaign_id=campaign_id, target=CampaignState.CLEANING, actor=actor, now=now
    )
    with uow:
        campaign = uow.campaigns.get(campaign_id)
        offer = uow.catalogue.offer(campaign.offer_id)
        exclusive = uow.catalogue.exclusive_service_ids(offer.id)
        # Kept contacts become due when the window first opens, whatever the cleaning time.
        first_call = day_window(
            campaign.window_start, campaign.calling_hours, campaign.branch_timezone
        )[0]
        seen: set[str] = set()
        after = 0
        kept = 0
        reasons: dict[str, int] = {}
        while batch := uow.contacts.batch_for_cleaning(
            campaign_id, after_row=after, limit=batch_size
        ):
            after = batch[-1][1]
            numbers = sorted({n for _, _, n, _ in batch if n is not None})
            statuses = uow.subscribers.statuses(numbers)
            holds_offer = uow.subscribers.holders(numbers, [offer.id])
            holds_excl = uow.subscribers.holders(numbers, exclusive)
            last = uow.subscribers.last_contacted(numbers, exclude_campaign=campaign_id)
            follow = uow.subscribers.with_follow_ups(numbers)
            dnc = uow.dnc.blocked(numbers, campaign_id=campaign_id, now=now)
            # Duplicates are judged across the whole list, so carry earlier batches' numbers.
            dup_flags = duplicate_flags(n for _, _, n, _ in batch)
            verdicts: list[tuple[int, ExclusionReason | None]] = []
            for (cid, _row, number, mobile), dup_in_batch in zip(batch, dup_flags, strict=True):
                invalid = None
                if number is None:
                    invalid = ExclusionReason.INVALID_NUMBER
                elif offer.requires_mobile and not mobile:
                    invalid = ExclusionReason.NOT_MOBILE
                facts = ContactFacts(
                    contact_id=cid,
                    e164=number,
                    invalid_reason=invalid,
                    duplicate_of_earlier_row=dup_in_batch or (number in seen),
                    subscriber_status=statuses.get(number) if number else None,
                    holds_offer=number in holds_offer,
                    holds_exclusive=number in holds_excl,
                    last_contacted_at=last.get(number) if number else None,
                    has_follow_up=number in follow,
                    on_dnc=number in dnc,
                )
                verdict = evaluate_contact(facts, pol, now)
                verdicts.append((cid, verdict.reason))
                if verdict.reason is None:
                    kept += 1
                else:
                    reasons[verdict.reason.value] = reasons.get(verdict.reason.value, 0) + 1
            seen.update(numbers)
            uow.contacts.apply_verdicts(verdicts, rule_version=pol.version, due_at=first_call)
        summary = {"kept": kept, **dict(sorted(reasons.items()))}
        uow.campaigns.update(campaign_id, now=now, cleaning_summary=summary)
        uow.audit.append(
            actor=actor,
            entity="campaign",
            entity_id=campaign_id,
            action="cleaned",
            at=now,
            detail=summary | {"rule_version": pol.version},
        )
        uow.commit()
    transition(uow=uow, campaign_id=campaign_id, target=CampaignState.READY, actor=actor, now=now)
    return summary


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


@dataclass(frozen=True, slots=True)
class TrialThresholds:
    """Go/no-go limits measured on the trial sample."""

    min_attempts: int = 30
    min_connect_rate: float = 0.2
    min_conversion_per_rpc: float = 0.02
    max_complaint_rate: float = 0.02


def start_trial(
    *,
    uow: UnitOfWork,
    campaign_id: int,
    now: datetime,
    share: float = 0.05,
    max_size: int = 500,
    actor: str = "system",
) -> int:
    """Pick the trial sample and move the campaign to TRIAL; returns the sample size."""
    with uow:
        counts = uow.contacts.count_by_state(campaign_id)
        size = min(max_size, max(1, math.ceil(counts.get(ContactState.READY, 0) * share)))
        picked = uow.contacts.mark_trial_sample(campaign_id, size)
        uow.commit()
    transition(
        uow=uow,
        campaign_id=campaign_id,
        target=CampaignState.TRIAL,
        actor=actor,
        now=now,
        detail={"sample": picked},
    )
    return picked


def review_trial(
    *,
    uow: UnitOfWork,
    campaign_id: int,
    now: datetime,
    thresholds: TrialThresholds | None = None,
    actor: str = "system",
) -> dict[str, Any]:
    """Close the trial, measure it against the thresholds and record a go/no-go advice."""
    t = thresholds or TrialThresholds()
    with uow:
        campaign = uow.campaigns.get(campaign_id)
        by, dialled, talk = uow.attempts.counts(campaign_id, phase=Phase.TRIAL)
    funnel = build_funnel(
        by,
        records_loaded=dialled,
        records_callable=dialled,
        records_dialled=dialled,
        talk_seconds=talk,
        goal_activations=campaign.goal_activations,
    )
    complaint_rate = funnel.complaints / funnel.live_contacts if funnel.live_contacts else 0.0
    problems = []
    if funnel.attempts < t.min_attempts:
        # Too little data to judge either way: a person decides.
        problems.append(f"only {funnel.attempts} trial attempts; at least {t.min_attempts} needed")
    else:
        if funnel.connect_rate < t.min_connect_rate:
            problems.append(f"connect rate {funnel.connect_rate:.1%} < {t.min_connect_rate:.0%}")
        if funnel.conversion_per_rpc < t.min_conversion_per_rpc:
            problems.append(
                f"conversion per RPC {funnel.conversion_per_rpc:.1%} "
                f"< {t.min_conversion_per_rpc:.0%}"
            )
        if complaint_rate > t.max_complaint_rate:
            problems.append(f"complaint rate {complaint_rate:.1%} > {t.max_complaint_rate:.0%}")
    result = {"go": not problems, "problems": problems, "funnel": funnel.to_dict()}
    transition(
        uow=uow,
        campaign_id=campaign_id,
        target=CampaignState.TRIAL_REVIEW,
        actor=actor,
        now=now,
        detail={"go": result["go"], "problems": problems},
    )
    return result


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
