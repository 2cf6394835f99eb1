"""A synthetic operator for the demo and tests: subscribers, services, history, a messy list."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from campaigns.model import SubscriberStatus

MOBILE_PREFIXES = (
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "147",
    "150",
    "151",
    "152",
    "157",
    "158",
    "159",
    "178",
    "182",
    "183",
    "184",
    "187",
    "188",
    "198",
)

BRANCHES = (
    ("GZ", "广州分公司 Guangzhou branch"),
    ("SZ", "深圳分公司 Shenzhen branch"),
    ("FS", "佛山分公司 Foshan branch"),
)

#: (code, name, monthly price, exclusion group, requires mobile)
SERVICES = (
    ("5G_PLUS_59", "5G 畅享套餐 59元 5G plan 59", 59.0, "5g_plan", True),
    ("5G_PLUS_99", "5G 畅享套餐 99元 5G plan 99", 99.0, "5g_plan", True),
    ("5G_PLUS_129", "5G 畅享套餐 129元 5G plan 129", 129.0, "5g_plan", True),
    ("VIDEO_VIP", "视频会员 Video VIP", 15.0, None, True),
    ("CLOUD_DRIVE", "和彩云 Cloud drive", 10.0, None, False),
)

OFFERS_WITH_SCRIPTS = ("5G_PLUS_59", "VIDEO_VIP")


def script_sections(offer_name: str, price: float) -> dict[str, object]:
    """The sections every call script covers, in the order the agent uses them."""
    return {
        "holder_check": "您好，请问是机主本人吗？ Hello, am I speaking to the account holder?",
        "pitch": f"为您推荐{offer_name}。 We recommend {offer_name}.",
        "price_and_rules": f"月费 {price:.0f} 元，次月生效，可随时退订。 {price:.0f} yuan a month, "
        "effective next month, cancel any time.",
        "faq": [
            {
                "q": "会自动扣费吗？ Will I be charged automatically?",
                "a": "开通后按月计费。 Monthly.",
            },
            {"q": "原套餐怎么办？ What about my plan?", "a": "原套餐自动变更。 It is replaced."},
        ],
        "objections": [
            {"objection": "太贵 too expensive", "answer": "首月半价。 Half price first month."},
        ],
        "off_topic_redirect": "其他问题请拨打 10086 咨询。 For other questions please call 10086.",
        "close": "感谢您的接听，祝您生活愉快！ Thank you, have a nice day!",
    }


@dataclass(frozen=True, slots=True)
class SubscriberRow:
    """One synthetic subscriber with the services it holds."""

    msisdn: str
    status: SubscriberStatus
    segment: str
    branch: str
    services: tuple[str, ...]


@dataclass(slots=True)
class Operator:
    """The generated snapshot, as lists ready for bulk loading."""

    subscribers: list[SubscriberRow] = field(default_factory=list)
    history: list[tuple[str, datetime]] = field(default_factory=list)
    follow_ups: list[tuple[str, datetime]] = field(default_factory=list)
    dnc: list[str] = field(default_factory=list)


def _number(rng: random.Random) -> str:
    return f"+86{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"


def generate_operator(n: int, *, now: datetime, seed: int = 42) -> Operator:
    """Generate `n` unique subscribers with statuses, services, history, follow-ups and DNC."""
    rng = random.Random(seed)
    numbers: set[str] = set()
    while len(numbers) < n:
        numbers.add(_number(rng))
    op = Operator()
    for msisdn in sorted(numbers):
        r = rng.random()
        status = (
            SubscriberStatus.ACTIVE
            if r < 0.92
            else SubscriberStatus.SUSPENDED
            if r < 0.97
            else SubscriberStatus.CANCELLED
        )
        held: list[str] = []
        plan = rng.random()
        if plan < 0.08:
            held.append("5G_PLUS_59")
        elif plan < 0.15:
            held.append("5G_PLUS_99")
        elif plan < 0.18:
            held.append("5G_PLUS_129")
        if rng.random() < 0.12:
            held.append("VIDEO_VIP")
        if rng.random() < 0.2:
            held.append("CLOUD_DRIVE")
        op.subscribers.append(
            SubscriberRow(
                msisdn,
                status,
                rng.choice(("youth", "family", "business", "senior")),
                rng.choice(BRANCHES)[0],
                tuple(held),
            )
        )
        if rng.random() < 0.03:
            op.history.append((msisdn, now - timedelta(days=rng.randint(1, 60))))
        if rng.random() < 0.02:
            op.follow_ups.append((msisdn, now - timedelta(days=rng.randint(1, 200))))
        if rng.random() < 0.01:
            op.dnc.append(msisdn)
    return op


def _messy(e164: str, rng: random.Random) -> str:
    """Write a valid number the way spreadsheets and people do."""
    local = e164[3:]
    style = rng.randrange(8)
    if style == 0:
        return f"+86 {local[:3]} {local[3:7]} {local[7:]}"
    if style == 1:
        return f"{local[:3]}-{local[3:7]}-{local[7:]}"
    if style == 2:
        return f"0086{local}"
    if style == 3:
        return local.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    if style == 4:
        return f"'{local}"
    if style == 5:
        return f"({local[:3]}) {local[3:7]}.{local[7:]}"
    return local


BAD_INPUTS = (
    "1380013",
    "10086",
    "abc123",
    '=HYPERLINK("tel:1")',
    "020-1234",
    "0000000000000",
    "12321",
    "138001380001234567",
    "",
    "n/a",
)


def generate_request_list(
    op: Operator,
    size: int,
    *,
    seed: int = 7,
    unknown_share: float = 0.04,
    bad_share: float = 0.03,
    duplicate_share: float = 0.04,
    branch: str = "GZ",
    away_share: float = 0.03,
) -> Iterator[dict[str, str]]:
    """A branch's export: mostly subscribers, some unknown, malformed and duplicated rows."""
    rng = random.Random(seed)
    # A branch exports its own subscribers, with a few of other branches' mixed in.
    home = [s.msisdn for s in op.subscribers if s.branch == branch]
    away = [s.msisdn for s in op.subscribers if s.branch != branch]
    # Drawn without replacement: the list's only duplicates are the ones made on purpose.
    rng.shuffle(home)
    rng.shuffle(away)
    picked: list[str] = []
    for i in range(size):
        r = rng.random()
        if r < bad_share:
            raw = rng.choice(BAD_INPUTS)
        elif r < bad_share + duplicate_share and picked:
            raw = _messy(rng.choice(picked), rng)
        elif r < bad_share + duplicate_share + unknown_share:
            raw = _messy(_number(rng), rng)
        else:
            source = away if rng.random() < away_share else home
            number = source.pop() if source else rng.choice(picked)
            picked.append(number)
            raw = _messy(number, rng)
        yield {
            "序号": str(i + 1),
            "手机号": raw,
            "姓名": f"客户{i + 1}",
            "备注": rng.choice(("", "老客户", "新入网")),
        }
