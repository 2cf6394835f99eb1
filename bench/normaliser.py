"""How fast list cells become E.164 numbers, three ways, on one realistic seeded list.

The list imitates a branch's upload: mostly Chinese mobiles written every way people and
spreadsheets write them (blanks, dashes, dots, +86 / 0086 / 86, full-width digits, Excel's
apostrophe, an extension now and then), some fixed lines, a few repeated rows and about 5%
bad cells (short codes, typos, blanks, text, formulas).

It times, in one process and on the same rows:

  baseline   phonenumbers parse + is_valid_number + format_number(E164) per row, the naive
             way to do it without our rules (it accepts what our rules reject and vice versa);
  reference  campaigns.phone.normalise per row: the rules, the truth;
  fast       campaigns.fastphone.normalise_fast per row, and normalise_many on the list;

prints rows/s for each and the ratios, and exits 1 unless the fast path agrees with the
reference on every row.

    .venv/bin/python bench/normaliser.py [--n 200000] [--seed 20251101] [--list FILE.csv]

--list times the first --n cells of a CSV's first column instead (its header skipped), e.g.
the 1M-row list the cleaning benchmark loads.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from collections.abc import Callable, Sequence

import phonenumbers

from campaigns.fastphone import normalise_columns, normalise_fast, normalise_many
from campaigns.phone import E164, Rejected, normalise

# Prefixes Chinese operators hand out; what the list holds, not what the code validates with.
MOBILE_PREFIXES = [f"13{d}" for d in range(10)] + [f"18{d}" for d in range(10)]
MOBILE_PREFIXES += ["145", "147", "150", "151", "152", "153", "155", "156", "157", "158", "159"]
MOBILE_PREFIXES += ["166", "170", "171", "172", "173", "175", "176", "177", "178", "191", "193"]
MOBILE_PREFIXES += ["195", "196", "197", "198", "199"]
AREA_CODES = ["10", "20", "21", "22", "23", "24", "25", "27", "28", "29", "311", "351", "371"]
AREA_CODES += ["431", "451", "511", "512", "531", "551", "571", "591", "731", "755", "769", "898"]
BAD_CELLS = (
    "10086",
    "10010",
    "95588",
    "12345",
    "12321",
    "110",
    "",
    " ",
    "n/a",
    "无",
    "空号",
    "-",
    "0",
    '=HYPERLINK("tel:13800138000")',
    "138001380",
    "1380013800",
    "138001380001",
    "1380013800013800",
    "23800138000",
    "13800 13800 0",
    "+86 138 0013",
)
WIDE = str.maketrans("0123456789+-", "０１２３４５６７８９＋－")

Row = E164 | Rejected


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _mobile(rng: random.Random) -> str:
    n = rng.choice(MOBILE_PREFIXES) + _digits(rng, 8)
    a, b, c = n[:3], n[3:7], n[7:]
    shape = rng.random()
    if shape < 0.40:
        text = n
    elif shape < 0.52:
        text = f"{a} {b} {c}"
    elif shape < 0.62:
        text = f"{a}-{b}-{c}"
    elif shape < 0.70:
        text = f"+86 {a} {b} {c}"
    elif shape < 0.76:
        text = f"+86{n}"
    elif shape < 0.81:
        text = f"86{n}"
    elif shape < 0.85:
        text = f"0086 {n}"
    elif shape < 0.88:
        text = f"{a}.{b}.{c}"
    elif shape < 0.91:
        text = f"({a}) {b} {c}"
    elif shape < 0.94:
        text = n.translate(WIDE)
    elif shape < 0.98:
        text = f"'{n}"
    else:
        text = f"{n}{rng.choice([' ext 12', '转8001', '#12', '-8001'])}"
    return f" {text} " if rng.random() < 0.03 else text


def _fixed_line(rng: random.Random) -> str:
    area = rng.choice(AREA_CODES)
    local = rng.choice("2345678") + _digits(rng, 7 if len(area) == 2 else rng.choice((6, 7)))
    return rng.choice(
        (f"0{area}-{local}", f"(0{area}) {local}", f"0{area}{local}", f"+86 {area} {local}")
    )


def _bad(rng: random.Random) -> str:
    return rng.choice(BAD_CELLS)


def make_list(n: int, seed: int) -> list[str]:
    """A seeded list of n cells: ~80% mobiles, ~12% fixed lines, ~5% bad, ~3% repeats."""
    rng = random.Random(seed)
    rows: list[str] = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.03 and rows:
            rows.append(rng.choice(rows))
        elif kind < 0.08:
            rows.append(_bad(rng))
        elif kind < 0.20:
            rows.append(_fixed_line(rng))
        else:
            rows.append(_mobile(rng))
    return rows


def read_list(path: str, n: int) -> list[str]:
    """The first n cells of a CSV's first column, after its header."""
    rows: list[str] = []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader, None)
        for row in reader:
            if len(rows) >= n:
                break
            rows.append(row[0] if row else "")
    return rows


def baseline(raw: str) -> str | None:
    """The naive path: phonenumbers parse, validate and format, nothing else."""
    try:
        parsed = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _time(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when the fast path disagrees with the reference."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="rows in the list")
    parser.add_argument("--seed", type=int, default=20251101)
    parser.add_argument("--list", help="time a CSV's first column instead of the seeded list")
    args = parser.parse_args(argv)

    rows = read_list(args.list, args.n) if args.list else make_list(args.n, args.seed)
    # Warm phonenumbers' lazily loaded metadata so no path pays for it inside its timing.
    normalise(rows[0])
    baseline(rows[0])

    t_base, _ = _time(lambda: [baseline(r) for r in rows])
    t_ref, ref = _time(lambda: [normalise(r) for r in rows])
    t_fast, fast = _time(lambda: [normalise_fast(r) for r in rows])
    t_many, many = _time(lambda: normalise_many(rows))
    t_cols, cols = _time(lambda: normalise_columns(rows))

    assert isinstance(ref, list) and isinstance(fast, list) and isinstance(many, list)
    disagree = [(r, a, b) for r, a, b in zip(rows, ref, fast, strict=True) if a != b]
    disagree += [(r, a, b) for r, a, b in zip(rows, ref, many, strict=True) if a != b]
    assert isinstance(cols, tuple)
    as_columns = [
        (x.value, x.is_mobile, None) if isinstance(x, E164) else (None, False, x.reason.value)
        for x in ref
    ]
    disagree += [
        (r, a, b)
        for r, a, b in zip(rows, as_columns, zip(*cols, strict=True), strict=True)
        if a != b
    ]
    kept = sum(isinstance(x, E164) for x in ref)

    def rate(seconds: float) -> float:
        return len(rows) / seconds

    source = args.list if args.list else f"seed {args.seed}"
    print(f"rows: {len(rows):,} ({source}); valid per the reference: {kept / len(rows):.1%}")
    print(f"baseline  phonenumbers parse+validate+format  {rate(t_base):>12,.0f} rows/s")
    print(f"reference campaigns.phone.normalise           {rate(t_ref):>12,.0f} rows/s")
    print(f"fast      normalise_fast, row by row          {rate(t_fast):>12,.0f} rows/s")
    print(f"fast      normalise_many, whole list          {rate(t_many):>12,.0f} rows/s")
    print(f"fast      normalise_many per cell             {t_many / len(rows) * 1e6:12.2f} µs")
    print(f"fast      normalise_columns (the list loader) {rate(t_cols):>12,.0f} rows/s")
    print(f"ratio normalise_fast / baseline   {t_base / t_fast:6.1f}x")
    print(f"ratio normalise_many / baseline   {t_base / t_many:6.1f}x")
    print(f"ratio normalise_columns / baseline {t_base / t_cols:5.1f}x")
    print(f"ratio normalise_fast / reference  {t_ref / t_fast:6.1f}x")
    if disagree:
        print(f"DISAGREEMENTS: {len(disagree)}; first ones:", file=sys.stderr)
        for raw, want, got in disagree[:10]:
            print(f"  {raw!r}: reference {want!r}, fast {got!r}", file=sys.stderr)
        return 1
    print("agreement with the reference: 100%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
