"""A fast path for `campaigns.phone.normalise`: the same answer for every input, quicker.

Most list cells are Chinese numbers written with ordinary separators: ``138 0013 8000``,
``+86-138-0013-8000``, ``0086 13800138000``, ``(020) 8888 8888``, full-width digits, an
apostrophe in front, now and then ``ext 12`` or ``#12`` after. Once `campaigns.phone.clean`
has run, such a cell is drawn from a narrow alphabet (ASCII digits, one leading ``+``,
blanks, dashes, dots, parentheses), and for that alphabet phonenumbers' parse, validation
and E.164 formatting reduce to a few steps on the digit string: the ``+`` or the country
code written without it, the international prefix, the national prefix (0) or a carrier
code, and length checks. This module replays exactly those steps with the region's own
metadata (number patterns, possible lengths, prefixes, short-number patterns), compiled
once at import, so a metadata update moves both paths together.

Anything else, or anything the replay cannot settle without more of phonenumbers' logic
(letters, other extension forms, two-digit cells, an international prefix, a leading zero
after the prefix, a country code other than the region's own, regions without a plan),
goes to the reference. tests/unit/test_fastphone.py compares the two paths on a million
generated cells.

Most of the replay's time used to go to the metadata regexes. They are still compiled, but
the hot path asks automata built from them instead (the "patterns as automata" section):
each pattern is read with re's own parser into an NFA over the digits; the patterns one
decision reads (general, non-geographic types, fixed line, mobile) are determinised
together, per number length, into a graph whose leaves are the verdict, a leaf as soon as
the digits read settle it (two or three digits for most numbers). Prefix patterns get
guards (the first three digits that can start a match) and, where the first digits settle
re's match, its end. Each graph is exact by construction and checked against its regex by
the tests; a pattern with a construct the NFA does not model, or a graph too large, keeps
its regex.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, fields
from types import MemberDescriptorType
from typing import Any, TypeAlias

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumberDesc

from campaigns.model import ExclusionReason
from campaigns.phone import DASH_EXTENSION, E164, Rejected, clean, normalise

# Regions the replay has been checked against the reference for; others use the reference.
FAST_REGIONS = ("CN",)

# The alphabet the replay understands: phonenumbers skips anything before the first "+" or
# digit, and the only punctuation allowed after it is what it strips without meaning.
# _Plan.national_number reads this shape without the regex (the tests hold it to it).
_SHAPE = re.compile(r"\(*(\+)?([0-9][0-9 ().\-]*)")
# An explicit extension after the number: phonenumbers drops it (the earliest place its
# extension pattern can match is the blanks before the marker) and parses what precedes.
_EXTENSION = re.compile(r"(.*\d) *(?:ext|#) *\d{1,9}")
# phonenumbers needs two digits (any script: its patterns use \d) to read a number at all,
# and so does DASH_EXTENSION.
_TWO_DIGITS = re.compile(r"\d\D*\d")
_NEVER = re.compile(r"(?!)")

# Bounds phonenumbers applies while parsing (phonenumberutil._MAX_INPUT_STRING_LENGTH etc.).
_MAX_INPUT_LENGTH = 250
_MIN_NSN_LENGTH = 2
_MAX_NSN_LENGTH = 17


class _Uncertain(Exception):
    """The replay cannot settle this text; the reference must."""


# ------------------------------------------------------------------ patterns as automata

# The regex module's own parser, so an automaton reads a pattern exactly as re does. It is
# private; without it every pattern keeps its regex.
try:
    _sre_parser: Any = importlib.import_module("re._parser")
    _sre: Any = importlib.import_module("re._constants")
except ImportError:  # pragma: no cover - a Python without re._parser
    _sre_parser = _sre = None

_DIGITS = "0123456789"
_ALL_DIGITS = frozenset(_DIGITS)
# Past this many nodes a decision graph is not worth having; the regex stays in use.
_GRAPH_BUDGET = 50_000
# Longest repeat count the NFA unrolls; metadata patterns use single digits.
_MAX_UNROLL = 64

#: A node of a decision graph: a dict from the next digit to the next node, or a leaf, the
#: verdict every completion of the digits read so far shares.
_Node: TypeAlias = "dict[str, _Node] | bool | None"


class _Unsupported(Exception):
    """A pattern uses a construct the automata do not model; its regex is used instead."""


def _digits_matched(op: Any, av: Any) -> frozenset[str]:
    """The ASCII digits one single-character item of a parsed pattern matches."""
    if op is _sre.LITERAL:
        return frozenset(chr(av)) & _ALL_DIGITS
    if op is _sre.NOT_LITERAL:
        return _ALL_DIGITS - {chr(av)}
    if op is _sre.ANY:  # any character but a newline
        return _ALL_DIGITS
    if op is not _sre.IN:
        raise _Unsupported(op)
    matched: set[str] = set()
    negate = False
    for i, (item, value) in enumerate(av):
        if item is _sre.NEGATE and i == 0:
            negate = True
        elif item is _sre.LITERAL:
            matched |= frozenset(chr(value)) & _ALL_DIGITS
        elif item is _sre.RANGE:
            low, high = value
            matched |= {d for d in _DIGITS if low <= ord(d) <= high}
        elif item is _sre.CATEGORY and value in (
            _sre.CATEGORY_DIGIT,
            _sre.CATEGORY_WORD,
            _sre.CATEGORY_NOT_SPACE,
        ):
            matched |= _ALL_DIGITS
        elif item is _sre.CATEGORY and value in (
            _sre.CATEGORY_NOT_DIGIT,
            _sre.CATEGORY_NOT_WORD,
            _sre.CATEGORY_SPACE,
        ):
            pass
        else:
            raise _Unsupported(item)
    return _ALL_DIGITS - matched if negate else frozenset(matched)


def _nullable(items: Any) -> bool:
    """Whether a parsed sequence can match the empty string."""
    for op, av in items:
        if op is _sre.SUBPATTERN:
            if not _nullable(av[3]):
                return False
        elif op is _sre.BRANCH:
            if not any(_nullable(alternative) for alternative in av[1]):
                return False
        elif op is _sre.MAX_REPEAT or op is _sre.MIN_REPEAT:
            if av[0] > 0 and not _nullable(av[2]):
                return False
        else:
            return False
    return True


class _Nfa:
    """A Thompson NFA over the ASCII digits, for any number of patterns at once.

    Each pattern gets its own states, so a set of states read off the combined automaton is
    the product of the patterns' automata: which patterns still match, and how far. Only what
    the metadata uses is modelled: digits, classes, ``\\d``, groups without flags,
    alternation and greedy or lazy repeats (which match the same strings under fullmatch).
    Anything else raises _Unsupported, and the caller keeps the regex.
    """

    def __init__(self) -> None:
        self._eps: list[list[int]] = []
        self._moves: list[list[tuple[frozenset[str], int]]] = []
        self._accepts: set[int] = set()
        self._delta: list[dict[str, frozenset[int]]] = []
        self._predecessors: list[set[int]] = []
        self._live: list[frozenset[int]] = []

    def add(self, pattern: str) -> tuple[frozenset[int], int]:
        """The start states and the accepting state of a pattern; raises _Unsupported."""
        if _sre_parser is None:
            raise _Unsupported("re._parser")
        try:
            parsed = _sre_parser.parse(pattern)
        except re.error as error:
            raise _Unsupported(error) from error
        if parsed.state.flags != _sre.SRE_FLAG_UNICODE:
            raise _Unsupported("flags")
        start = self._new()
        accept = self._sequence(parsed, start)
        self._accepts.add(accept)
        self._delta, self._predecessors, self._live = [], [], []  # rebuilt on next use
        return self._closure((start,)), accept

    def _new(self) -> int:
        self._eps.append([])
        self._moves.append([])
        return len(self._eps) - 1

    def _sequence(self, items: Any, state: int) -> int:
        for op, av in items:
            state = self._item(op, av, state)
        return state

    def _item(self, op: Any, av: Any, state: int) -> int:
        if op is _sre.SUBPATTERN:
            _group, add_flags, del_flags, body = av
            if add_flags or del_flags:
                raise _Unsupported("flags")
            return self._sequence(body, state)
        if op is _sre.BRANCH:
            end = self._new()
            for alternative in av[1]:
                begin = self._new()
                self._eps[state].append(begin)
                self._eps[self._sequence(alternative, begin)].append(end)
            return end
        if op is _sre.MAX_REPEAT or op is _sre.MIN_REPEAT:
            low, high, body = av
            unbounded = high == _sre.MAXREPEAT
            if low > _MAX_UNROLL or (not unbounded and high > _MAX_UNROLL):
                raise _Unsupported("repeat count")
            if (unbounded or high > 1) and _nullable(body):
                # re stops a loop whose body matched nothing; not modelled.
                raise _Unsupported("repeat of a nullable body")
            for _ in range(low):
                state = self._sequence(body, state)
            if unbounded:
                loop = self._new()
                self._eps[state].append(loop)
                self._eps[self._sequence(body, loop)].append(loop)
                return loop
            end = self._new()
            for _ in range(high - low):
                self._eps[state].append(end)
                state = self._sequence(body, state)
            self._eps[state].append(end)
            return end
        digits = _digits_matched(op, av)
        target = self._new()
        if digits:
            self._moves[state].append((digits, target))
        return target

    def _closure(self, states: Iterable[int]) -> frozenset[int]:
        seen = set(states)
        stack = list(seen)
        while stack:
            for target in self._eps[stack.pop()]:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        return frozenset(seen)

    def _transitions(self) -> list[dict[str, frozenset[int]]]:
        if not self._delta:
            closures = [self._closure((state,)) for state in range(len(self._eps))]
            for moves in self._moves:
                row: dict[str, set[int]] = {}
                for digits, target in moves:
                    for digit in digits:
                        row.setdefault(digit, set()).update(closures[target])
                self._delta.append({digit: frozenset(s) for digit, s in row.items()})
        return self._delta

    def step(self, states: Iterable[int], digit: str) -> frozenset[int]:
        """The states after reading one more digit (epsilon-closed, like states)."""
        delta = self._transitions()
        after: set[int] = set()
        for state in states:
            after |= delta[state].get(digit, frozenset())
        return frozenset(after)

    def live(self, remaining: int) -> frozenset[int]:
        """States from which some pattern accepts after exactly `remaining` more digits."""
        if not self._live:
            self._predecessors = [set() for _ in self._eps]
            for state, row in enumerate(self._transitions()):
                for targets in row.values():
                    for target in targets:
                        self._predecessors[target].add(state)
            self._live.append(frozenset(self._accepts))
        while len(self._live) <= remaining:
            previous = self._live[-1]
            self._live.append(frozenset().union(*(self._predecessors[s] for s in previous)))
        return self._live[remaining]

    def decisions(
        self,
        starts: frozenset[int],
        length: int,
        verdict: Callable[[frozenset[int]], bool | None],
    ) -> _Node:
        """A decision graph for digit strings of one length.

        `verdict` maps the states reached after the last digit to the answer. A node whose
        every completion has the same answer is that answer (a leaf), so a walk stops as soon
        as the digits read settle it. Nodes are shared per (states, digits left): the graph is
        the lazily determinised product automaton, unrolled over the length and minimised
        bottom-up. Raises _Unsupported past _GRAPH_BUDGET nodes.
        """
        memo: dict[tuple[frozenset[int], int], _Node] = {}

        def node(states: frozenset[int], remaining: int) -> _Node:
            key = (states, remaining)
            if key in memo:
                return memo[key]
            result: _Node
            if remaining == 0 or not states:
                result = verdict(states)
            else:
                keep = self.live(remaining - 1)
                children = {d: node(self.step(states, d) & keep, remaining - 1) for d in _DIGITS}
                first = children["0"]
                if not isinstance(first, dict) and all(c is first for c in children.values()):
                    result = first
                else:
                    result = children
            if len(memo) >= _GRAPH_BUDGET:
                raise _Unsupported("graph size")
            memo[key] = result
            return result

        return node(starts & self.live(length), length)

    def after(self, states: frozenset[int], digits: str) -> frozenset[int]:
        """The states after reading digits."""
        for digit in digits:
            states = self.step(states, digit)
        return states

    def goes_on(self, states: frozenset[int], accept: int) -> bool:
        """Whether one or more further digits can lead from states to accept."""
        delta = self._transitions()
        seen: set[int] = set()
        frontier = [t for state in states for targets in delta[state].values() for t in targets]
        while frontier:
            state = frontier.pop()
            if state == accept:
                return True
            if state not in seen:
                seen.add(state)
                frontier.extend(t for targets in delta[state].values() for t in targets)
        return False

    def match_guard(self, starts: frozenset[int], accept: int, width: int) -> frozenset[str]:
        """The `width`-digit strings a pattern.match can succeed on the continuations of.

        re's match succeeds when some prefix of the text is in the pattern's language; a
        text whose first `width` digits are not in this set has no such prefix.
        """
        guard = set()
        for index in range(10**width):
            text = str(index).zfill(width)
            states = starts
            for digit in text:
                if accept in states:
                    break
                states = self.step(states, digit)
            if states:  # matched already, or may still
                guard.add(text)
        return frozenset(guard)


def _walk(node: _Node, digits: str) -> bool | None:
    """The verdict of a decision graph for digits of its length (the hot path inlines it)."""
    for digit in digits:
        if not isinstance(node, dict):
            break
        node = node[digit]
    if isinstance(node, dict):
        raise ValueError(f"{digits!r} is shorter than the graph")
    return node


@dataclass(frozen=True, slots=True)
class _Desc:
    """One PhoneNumberDesc: its pattern and the lengths it may take (empty: any)."""

    pattern: str
    lengths: frozenset[int]

    @classmethod
    def of(cls, desc: PhoneNumberDesc | None) -> _Desc | None:
        # A desc without a pattern never matches (phonenumbers' _match_national_number).
        if desc is None or not desc.national_number_pattern:
            return None
        return cls(desc.national_number_pattern, frozenset(desc.possible_length))

    def allows(self, length: int) -> bool:
        # As phonenumbers' _is_number_matching_desc: lengths first, when there are any.
        return not self.lengths or length in self.lengths


def _alternatives(descs: Iterable[_Desc]) -> str:
    return "|".join(f"(?:{d.pattern})" for d in descs)


@dataclass(frozen=True, slots=True)
class _Types:
    """What phonenumbers' _number_type_helper consults for numbers of one length.

    `pattern` and `verdict` are the same decision, as one regex and over the outcome of each
    desc; both follow _number_type_helper's order: a non-geographic type ("other": premium
    rate, toll free, shared cost, ...) first, then fixed line, which is "both" (fixed line or
    mobile) when the mobile pattern matches too or the region says they are the same, then
    mobile. No type means UNKNOWN, i.e. invalid.
    """

    general: _Desc
    others: tuple[_Desc, ...]
    fixed: _Desc | None
    mobile: _Desc | None
    same_mobile_and_fixed_line: bool

    @classmethod
    def at(
        cls,
        length: int,
        general: _Desc,
        non_geographic: Sequence[_Desc],
        fixed_line: _Desc | None,
        mobile: _Desc | None,
        same_mobile_and_fixed_line: bool,
    ) -> _Types | None:
        """The descs for numbers of this length; None when no number of it can be valid."""
        if not general.allows(length):
            return None
        others = tuple(d for d in non_geographic if d.allows(length))
        fixed = fixed_line if fixed_line is not None and fixed_line.allows(length) else None
        mob = mobile if mobile is not None and mobile.allows(length) else None
        if not others and fixed is None and (mob is None or same_mobile_and_fixed_line):
            return None
        return cls(general, others, fixed, mob, same_mobile_and_fixed_line)

    def descs(self) -> list[_Desc]:
        """Every desc the decision reads."""
        return [self.general, *self.others, *filter(None, (self.fixed, self.mobile))]

    def pattern(self) -> re.Pattern[str]:
        """The decision as one regex: fullmatch's first matching branch names the type.

        Alternatives of a regex are tried in order and fullmatch takes the first that matches
        the whole number, so the named group that matched is the type number_type would
        return: "other", "both", "fixed" or "mobile". No match means invalid.
        """
        branches = []
        if self.others:
            branches.append(f"(?P<other>{_alternatives(self.others)})")
        fixed, mob = self.fixed, self.mobile
        if fixed is not None:
            if self.same_mobile_and_fixed_line:
                branches.append(f"(?P<both>{_alternatives([fixed])})")
            else:
                if mob is not None:
                    branches.append(f"(?P<both>(?=(?:{mob.pattern})\\Z){_alternatives([fixed])})")
                branches.append(f"(?P<fixed>{_alternatives([fixed])})")
        if mob is not None and not self.same_mobile_and_fixed_line:
            branches.append(f"(?P<mobile>{_alternatives([mob])})")
        return re.compile(f"(?=(?:{self.general.pattern})\\Z)(?:{'|'.join(branches)})")

    def verdict(self, matches: Callable[[_Desc], bool]) -> bool | None:
        """Whether the number is a mobile (both, mobile), not (other, fixed), or None: invalid."""
        if not matches(self.general):
            return None
        if any(matches(d) for d in self.others):
            return False
        fixed, mob = self.fixed, self.mobile
        if fixed is not None and matches(fixed):
            return self.same_mobile_and_fixed_line or (mob is not None and matches(mob))
        if mob is not None and not self.same_mobile_and_fixed_line and matches(mob):
            return True
        return None


def _length_verdict(length: int, possible: Sequence[int], local_only: Collection[int]) -> str:
    # phonenumbers' _test_number_length for an unknown type, outcome by outcome.
    if length in local_only:
        return "local-only"
    if length == possible[0]:
        return "possible"
    if length < possible[0]:
        return "too-short"
    if length > possible[-1]:
        return "too-long"
    return "possible" if length in possible[1:] else "invalid-length"


# A .match guard reads this many leading digits (see _Nfa.match_guard).
_GUARD_WIDTH = 3
_EVERY_PREFIX = frozenset(str(i).zfill(_GUARD_WIDTH) for i in range(10**_GUARD_WIDTH))
_ZERO_PREFIXES = frozenset(start for start in _EVERY_PREFIX if start[0] == "0")
# General patterns get a decision graph for numbers up to this many digits; longer ones
# (never a national number: _MAX_NSN_LENGTH) use the regex.
_GENERAL_GRAPH_LENGTHS = 32
# Stands for "no graph, ask the regex" in the graph tables (compared by identity).
_NO_GRAPH: dict[str, _Node] = {}


def _jump_table(graph: _Node, length: int) -> dict[str, _Node]:
    """The node each possible first _GUARD_WIDTH digits lead to (all digits, if fewer).

    One dict lookup instead of the commonest walks: most numbers are settled by then.
    """
    table: dict[str, _Node] = {}
    for digits in itertools.product(_DIGITS, repeat=min(length, _GUARD_WIDTH)):
        prefix = "".join(digits)
        node = graph
        for digit in prefix:
            if not isinstance(node, dict):
                break
            node = node[digit]
        table[prefix] = node
    return table


@dataclass(frozen=True, slots=True)
class _Automata:
    """Decision graphs for one region's patterns, where the patterns allow them.

    Each graph decides exactly what its regex decides (tests/unit/test_fastphone.py checks
    both ways); a length or pattern without a graph keeps the regex.
    """

    #: number length -> is_mobile (True/False) for a valid number, None for an invalid one.
    types: dict[int, _Node]
    #: number length -> whether the general desc's pattern fullmatches.
    general: dict[int, _Node]
    #: _Nfa.match_guard of the national and international prefix patterns: the regex is
    #: asked only about numbers that start with one of these or are shorter than the guard.
    national_prefix: frozenset[str]
    international_prefix: frozenset[str]
    #: First digits (of the national prefix guard) that settle what stripping the national
    #: prefix does to any number starting with them: it keeps number[end:].
    national_prefix_strips: dict[str, int]

    @classmethod
    def none(cls) -> _Automata:
        """No graphs and guards that let everything through: the regexes decide alone."""
        return cls({}, {}, _EVERY_PREFIX, _EVERY_PREFIX, {})

    @classmethod
    def build(
        cls,
        types: dict[int, _Types],
        general: _Desc,
        national_prefix: str | None,
        international_prefix: str | None,
    ) -> _Automata:
        nfa = _Nfa()
        compiled: dict[str, tuple[frozenset[int], int] | None] = {}

        def compile_(pattern: str) -> tuple[frozenset[int], int] | None:
            if pattern not in compiled:
                try:
                    compiled[pattern] = nfa.add(pattern)
                except _Unsupported:
                    compiled[pattern] = None
            return compiled[pattern]

        def guard(pattern: str | None) -> frozenset[str]:
            if not pattern:
                return frozenset()  # the plan uses _NEVER
            found = compile_(pattern)
            return _EVERY_PREFIX if found is None else nfa.match_guard(*found, _GUARD_WIDTH)

        # Every pattern first: adding one makes the NFA rebuild its tables.
        for each_length in types.values():
            for desc in each_length.descs():
                compile_(desc.pattern)
        for pattern in (general.pattern, national_prefix, international_prefix):
            if pattern:
                compile_(pattern)
        type_graphs: dict[int, _Node] = {}
        for length in range(_MAX_NSN_LENGTH + 1):
            kinds = types.get(length)
            if kinds is None:
                type_graphs[length] = None  # no type has numbers of this length
                continue
            found = [compile_(d.pattern) for d in kinds.descs()]
            if None in found:
                continue
            accepts = {d: f[1] for d, f in zip(kinds.descs(), found, strict=True) if f}
            starts = frozenset().union(*(f[0] for f in found if f))

            def verdict(
                states: frozenset[int], kinds: _Types = kinds, accepts: dict[_Desc, int] = accepts
            ) -> bool | None:
                return kinds.verdict(lambda desc: accepts[desc] in states)

            with contextlib.suppress(_Unsupported):  # the regex decides this length
                type_graphs[length] = nfa.decisions(starts, length, verdict)
        general_graphs: dict[int, _Node] = {}
        general_found = compile_(general.pattern)
        if general_found is not None:
            starts, accept = general_found
            for length in range(_GENERAL_GRAPH_LENGTHS + 1):
                with contextlib.suppress(_Unsupported):
                    general_graphs[length] = nfa.decisions(
                        starts, length, lambda states: accept in states
                    )
        national_guard = guard(national_prefix)
        strips: dict[str, int] = {}
        national_found = compile_(national_prefix) if national_prefix else None
        if national_found is not None and general_found is not None:
            regex = re.compile(national_prefix or "")
            for start in national_guard:
                # No match of the prefix pattern can go past these digits, so re's match
                # (first match in its own order) is the same for any number starting with
                # them. Its end is what _strip_national_prefix keeps after, unless the
                # general pattern fits the number: never, when no number starting with
                # these digits fits it.
                if nfa.goes_on(nfa.after(national_found[0], start), national_found[1]):
                    continue
                prefix = regex.match(start)
                if prefix is None or prefix.end() == 0:
                    strips[start] = 0
                elif not nfa.after(general_found[0], start):
                    strips[start] = prefix.end()
        return cls(
            type_graphs,
            general_graphs,
            national_guard,
            guard(international_prefix),
            strips,
        )


def _shape(text: str) -> tuple[bool, str] | None:
    """(has "+", digits) when text is any "(", an optional "+", a digit, then digits and
    separators only (_SHAPE.fullmatch without the regex); None otherwise."""
    if text.isdigit() and text.isascii():
        # Bare digits first: most cells are.
        return False, text
    body = text.lstrip("(")
    plus = body[:1] == "+"
    if plus:
        body = body[1:]
    if not "0" <= body[:1] <= "9":
        return None
    # str.replace finds a separator with memchr; blanks or dashes alone separate most
    # numbers, so those go first.
    digits = body.replace(" ", "")
    if not digits.isdigit():
        digits = digits.replace("-", "")
        if not digits.isdigit():
            digits = digits.replace(".", "").replace("(", "").replace(")", "")
    if not (digits.isdigit() and digits.isascii()):
        return None
    return plus, digits


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the replay needs to know about one region, taken from phonenumbers' metadata."""

    country_code: str
    e164_prefix: str
    general: re.Pattern[str]
    # Lengths whose _test_number_length verdict lets parse keep a stripped national prefix,
    # and those it calls too long.
    strip_lengths: frozenset[int]
    too_long_lengths: frozenset[int]
    types_by_length: dict[int, re.Pattern[str]]
    international_prefix: re.Pattern[str]
    national_prefix: re.Pattern[str]
    short_code_by_length: dict[int, tuple[re.Pattern[str], re.Pattern[str]]]
    # The same decisions as graphs (and guards in front of the prefix regexes); the
    # regexes above decide whatever these do not cover.
    automata: _Automata
    # Read on every cell: automata.general and the guards, and automata.types as jump
    # tables, from the first _GUARD_WIDTH digits of a number to the node they lead to.
    general_graphs: dict[int, _Node]
    national_prefix_guard: frozenset[str]
    international_prefix_guard: frozenset[str]
    national_prefix_strips: dict[str, int]
    # First _GUARD_WIDTH digits after which national_number has nothing left to do: of a
    # national number (no national prefix can match, no leading zero), and of digits
    # written without "+" (neither, nor an international prefix, nor the country code).
    national_starts: frozenset[str]
    plain_starts: frozenset[str]
    # And of digits written without "+" whose national prefix (number[:end], end < the
    # width) is settled (national_prefix_strips) and leaves no leading zero: start -> end.
    prefixed_starts: dict[str, int]
    type_jumps: dict[int, dict[str, _Node]]

    @classmethod
    def build(cls, region: str, automata: bool = True) -> _Plan | None:
        """A plan for the region, or None when the replay's assumptions do not hold there.

        Without `automata`, every decision is made by the regexes (tests compare the two).
        """
        meta = PhoneMetadata.metadata_for_region(region)
        short = PhoneMetadata.short_metadata_for_region(region)
        if meta is None or short is None or meta.country_code is None:
            return None
        if meta.general_desc is None or not meta.general_desc.possible_length:
            return None
        code = str(meta.country_code)
        # A shared country code makes validity depend on which region the number is from,
        # and a code that extends a shorter one would be split differently.
        if COUNTRY_CODE_TO_REGION_CODE.get(meta.country_code) != (region,) or any(
            int(code[:i]) in COUNTRY_CODE_TO_REGION_CODE for i in range(1, len(code))
        ):
            return None
        # A transform rule rewrites the national number; the replay only strips prefixes.
        if meta.national_prefix_transform_rule:
            return None
        # The shortcuts read the country code off a number's first _GUARD_WIDTH digits
        # (country codes have at most three).
        if len(code) > _GUARD_WIDTH:
            return None
        general = _Desc.of(meta.general_desc)
        if general is None:
            return None
        possible = tuple(meta.general_desc.possible_length)
        non_geographic = [
            d
            for d in map(
                _Desc.of,
                (
                    meta.premium_rate,
                    meta.toll_free,
                    meta.shared_cost,
                    meta.voip,
                    meta.personal_number,
                    meta.pager,
                    meta.uan,
                    meta.voicemail,
                ),
            )
            if d is not None
        ]
        fixed_line, mobile = _Desc.of(meta.fixed_line), _Desc.of(meta.mobile)
        short_general, short_code = _Desc.of(short.general_desc), _Desc.of(short.short_code)
        every = [general, *non_geographic, fixed_line, mobile, short_general, short_code]
        # Named groups wrap each pattern; a capturing group of its own would confuse them.
        if any(d is not None and re.compile(d.pattern).groups for d in every):
            return None
        lengths = range(_MAX_INPUT_LENGTH + 1)
        local_only = frozenset(meta.general_desc.possible_length_local_only)
        verdicts = {n: _length_verdict(n, possible, local_only) for n in lengths}
        same = bool(meta.same_mobile_and_fixed_line_pattern)
        types = {
            n: kinds
            for n in lengths
            if (kinds := _Types.at(n, general, non_geographic, fixed_line, mobile, same))
        }
        shorts = {}
        if short_general is not None and short_code is not None:
            pair = (re.compile(short_general.pattern), re.compile(short_code.pattern))
            shorts = {n: pair for n in lengths if short_general.allows(n) and short_code.allows(n)}
        graphs = (
            _Automata.build(
                types, general, meta.national_prefix_for_parsing, meta.international_prefix
            )
            if automata
            else _Automata.none()
        )
        return cls(
            country_code=code,
            e164_prefix="+" + code,
            general=re.compile(general.pattern),
            strip_lengths=frozenset(
                n
                for n, v in verdicts.items()
                if v not in ("too-short", "local-only", "invalid-length")
            ),
            too_long_lengths=frozenset(n for n, v in verdicts.items() if v == "too-long"),
            types_by_length={n: kinds.pattern() for n, kinds in types.items()},
            international_prefix=(
                re.compile(meta.international_prefix) if meta.international_prefix else _NEVER
            ),
            national_prefix=(
                re.compile(meta.national_prefix_for_parsing)
                if meta.national_prefix_for_parsing
                else _NEVER
            ),
            short_code_by_length=shorts,
            automata=graphs,
            general_graphs=graphs.general,
            national_prefix_guard=graphs.national_prefix,
            international_prefix_guard=graphs.international_prefix,
            national_prefix_strips=graphs.national_prefix_strips,
            national_starts=(national := _EVERY_PREFIX - graphs.national_prefix - _ZERO_PREFIXES),
            plain_starts=frozenset(
                start
                for start in national - graphs.international_prefix
                if not start.startswith(code)
            ),
            prefixed_starts={
                start: end
                for start, end in graphs.national_prefix_strips.items()
                if 0 < end < _GUARD_WIDTH
                and start[end] != "0"
                and start not in graphs.international_prefix
                and not start.startswith(code)
            },
            type_jumps={n: _jump_table(node, n) for n, node in graphs.types.items()},
        )

    # ------------------------------------------------------------------ parse, replayed

    def general_matches(self, digits: str) -> bool:
        """Whether the general desc's pattern fullmatches digits (phonenumbers' viability)."""
        node = self.general_graphs.get(len(digits), _NO_GRAPH)
        if node is _NO_GRAPH:
            return self.general.fullmatch(digits) is not None
        for digit in digits:
            if not isinstance(node, dict):
                break
            node = node[digit]
        return node is True

    def _strip_national_prefix(self, number: str) -> str:
        # phonenumbers' _maybe_strip_national_prefix_carrier_code without a transform rule;
        # the guard and the settled strips answer for most numbers without the regexes.
        start = number[:_GUARD_WIDTH]
        if start not in self.national_prefix_guard and len(number) >= _GUARD_WIDTH:
            return number
        end = self.national_prefix_strips.get(start)
        if end is not None:
            return number[end:]
        found = self.national_prefix.match(number)
        if found is None:
            return number
        rest = number[found.end() :]
        if self.general_matches(number) and not self.general_matches(rest):
            return number
        return rest

    def national_number(self, text: str) -> str | None:
        """The national significant number phonenumbers parses text into; None if it fails."""
        shape = _shape(text)
        if shape is None:
            raise _Uncertain
        plus, digits = shape
        # The commonest numbers leave every step below as it is (see national_starts).
        if plus:
            if digits.startswith(self.country_code):
                number = digits[len(self.country_code) :]
                if number[:_GUARD_WIDTH] in self.national_starts and len(number) <= _MAX_NSN_LENGTH:
                    return number
        elif digits[:_GUARD_WIDTH] in self.plain_starts and len(digits) <= _MAX_NSN_LENGTH:
            return digits
        else:
            end = self.prefixed_starts.get(digits[:_GUARD_WIDTH])
            if (
                end is not None
                and len(digits) - end in self.strip_lengths
                and len(digits) - end <= _MAX_NSN_LENGTH
            ):
                return digits[end:]
        if len(digits) < 3:
            # Two digits are viable only when nothing separates them.
            raise _Uncertain
        code = self.country_code
        if plus:
            if not digits.startswith(code):
                raise _Uncertain
            number = digits[len(code) :]
        else:
            guard = self.international_prefix_guard
            if digits[:_GUARD_WIDTH] in guard and self.international_prefix.match(digits):
                raise _Uncertain
            number = digits
            if digits.startswith(code):
                # The default region's country code written without "+": taken off when the
                # digits only make sense without it, or are too long with it.
                rest = self._strip_national_prefix(digits[len(code) :])
                if len(digits) in self.too_long_lengths or (
                    not self.general_matches(digits) and self.general_matches(rest)
                ):
                    number = rest
        if len(number) < _MIN_NSN_LENGTH:
            return None
        if number[:_GUARD_WIDTH] in self.national_prefix_guard or len(number) < _GUARD_WIDTH:
            stripped = self._strip_national_prefix(number)
            if len(stripped) in self.strip_lengths:
                number = stripped
        if len(number) > _MAX_NSN_LENGTH:
            return None
        if number[0] == "0":
            # Italian-style leading zeros are kept by phonenumbers; not replayed here.
            raise _Uncertain
        return number

    # ------------------------------------------------------------------ validation, replayed

    def valid(self, nsn: str | None) -> E164 | None:
        """The E.164 number when nsn is a valid number of the region."""
        if nsn is None:
            return None
        jump = self.type_jumps.get(len(nsn))
        if jump is None:
            types = self.types_by_length.get(len(nsn))
            kind = None if types is None else types.fullmatch(nsn)
            if kind is None:
                return None
            return _e164(self.e164_prefix + nsn, kind.lastgroup in ("both", "mobile"))
        node = jump[nsn[:_GUARD_WIDTH]]
        if isinstance(node, dict):
            for digit in nsn[_GUARD_WIDTH:]:
                node = node[digit]
                if not isinstance(node, dict):
                    break
        if node is None:
            return None
        return _e164(self.e164_prefix + nsn, node is True)

    def is_short_code(self, nsn: str) -> bool:
        """phonenumbers' is_valid_short_number_for_region for a number of this region."""
        patterns = self.short_code_by_length.get(len(nsn))
        return (
            patterns is not None
            and patterns[0].fullmatch(nsn) is not None
            and patterns[1].fullmatch(nsn) is not None
        )

    def quick(self, raw: str) -> E164 | None:
        """decide(raw, clean(raw)) when that is a number read straight off raw, else None.

        An ASCII cell that starts with "(", "+" or a digit other than 0 and ends with a
        digit is left as it is by clean (NFKC, blanks, apostrophe, 00 prefix: nothing to
        do); if national_number reads it, it holds only digits and separators, so no
        extension, and decide answers with valid's number when there is one. None leaves
        the cell to clean and decide.
        """
        if not (
            "0" <= raw[-1:] <= "9"
            and raw[0] in "123456789+("
            and raw.isascii()
            and len(raw) <= _MAX_INPUT_LENGTH
        ):
            return None
        try:
            return self.valid(self.national_number(raw))
        except _Uncertain:
            return None

    def decide(self, raw: str, text: str) -> E164 | Rejected:
        """The reference's decision for cleaned text, replayed; raises _Uncertain."""
        if len(text) > _MAX_INPUT_LENGTH:
            raise _Uncertain
        extension = _EXTENSION.fullmatch(text) if "#" in text or "ext" in text else None
        nsn = self.national_number(text if extension is None else extension.group(1))
        number = self.valid(nsn)
        if number is not None:
            return number
        if "-" in text:
            dashed = DASH_EXTENSION.fullmatch(text)
            if dashed is not None:
                number = self.valid(self.national_number(dashed.group(1)))
                if number is not None:
                    return number
        if nsn is not None and self.is_short_code(nsn):
            return Rejected(raw, ExclusionReason.SHORT_CODE)
        return Rejected(raw, ExclusionReason.INVALID_NUMBER)


def _e164_maker() -> Callable[[str, bool], E164]:
    """E164(value, is_mobile), built without the frozen dataclass's __init__ when it is safe.

    A frozen dataclass sets each field through object.__setattr__; the slots' own
    descriptors do the same in half the time. Used only when E164 is still exactly two
    slots, value and is_mobile, with nothing run after __init__; otherwise the constructor.
    """
    value, is_mobile = E164.__dict__.get("value"), E164.__dict__.get("is_mobile")
    if (
        not isinstance(value, MemberDescriptorType)
        or not isinstance(is_mobile, MemberDescriptorType)
        or [f.name for f in fields(E164)] != ["value", "is_mobile"]
        or hasattr(E164, "__post_init__")
    ):
        return E164
    new, set_value, set_is_mobile = object.__new__, value.__set__, is_mobile.__set__

    def make(value: str, is_mobile: bool) -> E164:
        number = new(E164)
        set_value(number, value)
        set_is_mobile(number, is_mobile)
        return number

    return make


_e164 = _e164_maker()


_PLANS = {region: plan for region in FAST_REGIONS if (plan := _Plan.build(region)) is not None}


def _uncertain(raw: str, text: str, region: str) -> E164 | Rejected:
    # The replay could not settle the cell: the reference does, unless phonenumbers could
    # not even start to read it.
    if _TWO_DIGITS.search(text) is None:
        return Rejected(raw, ExclusionReason.INVALID_NUMBER)
    return normalise(raw, region)


def _normalise(plan: _Plan | None, raw: str, region: str) -> E164 | Rejected:
    if plan is None:
        return normalise(raw, region)
    if (
        raw.isdigit()
        and raw[:_GUARD_WIDTH] in plan.plain_starts
        and raw.isascii()
        and len(raw) <= _MAX_NSN_LENGTH
    ):
        # Bare digits: clean() leaves them as they are (ASCII, no blank, apostrophe or
        # leading 0) and national_number returns them whole (plain_starts), so decide
        # comes down to valid, or to its rejection when they are not.
        return plan.valid(raw) or plan.decide(raw, raw)
    number = plan.quick(raw)
    if number is not None:
        return number
    text = clean(raw)
    if not text or text[0] == "=":
        return Rejected(raw, ExclusionReason.INVALID_NUMBER)
    try:
        return plan.decide(raw, text)
    except _Uncertain:
        return _uncertain(raw, text, region)


def normalise_fast(raw: str, region: str = "CN") -> E164 | Rejected:
    """Exactly `campaigns.phone.normalise`, faster on the shapes most cells take."""
    return _normalise(_PLANS.get(region.upper()), raw, region)


# ------------------------------------------------------------------ columns, the common shapes

#: How many leading digits of a national number the settled tables read.
_SETTLED_WIDTH = 5


def _settled_table(jump: dict[str, _Node], length: int) -> dict[str, bool]:
    """First _SETTLED_WIDTH digits -> is_mobile, for valid numbers of `length` whose verdict
    those digits already settle (the walk `_Plan.valid` makes reaches a True/False leaf)."""
    width = min(length, _SETTLED_WIDTH)
    table: dict[str, bool] = {}
    stack = list(jump.items())
    while stack:
        prefix, node = stack.pop()
        if isinstance(node, dict):
            if len(prefix) < width:
                stack.extend((prefix + digit, child) for digit, child in node.items())
            continue
        if node is None:  # invalid: the full path also names the reason
            continue
        for tail in itertools.product(_DIGITS, repeat=width - len(prefix)):
            table[prefix + "".join(tail)] = node is True
    return table


@dataclass(frozen=True, slots=True)
class _Columns:
    """The common shapes of a plan, as tables: settled verdicts by length and first digits."""

    e164_prefix: str
    country_code: str
    plain_starts: frozenset[str]
    national_starts: frozenset[str]
    settled: dict[int, dict[str, bool]]

    @classmethod
    def of(cls, plan: _Plan) -> _Columns:
        return cls(
            plan.e164_prefix,
            plan.country_code,
            plan.plain_starts,
            plan.national_starts,
            {n: _settled_table(jump, n) for n, jump in plan.type_jumps.items() if n >= 3},
        )

    def number(self, text: str) -> tuple[str, bool] | None:
        """(E.164, is_mobile) when an ASCII text ending in a digit is one of the common
        shapes and valid, else None (the full path decides).

        The shapes are `_Plan.national_number`'s first steps: any "(", an optional "+",
        a digit, then digits and separators only; without "+" the digits must start like
        a national number (plain_starts), with it the country code must come first and
        the rest start like one (national_starts). The verdict is `_Plan.valid`'s, read from
        the settled tables. tests/unit/test_fastphone.py compares it with normalise_many.
        """
        shape = _shape(text)
        if shape is None:
            return None
        plus, digits = shape
        if plus:
            if not digits.startswith(self.country_code):
                return None
            digits = digits[len(self.country_code) :]
            if digits[:_GUARD_WIDTH] not in self.national_starts:
                return None
        elif digits[:_GUARD_WIDTH] not in self.plain_starts:
            return None
        table = self.settled.get(len(digits))
        if table is None:
            return None
        mobile = table.get(digits[:_SETTLED_WIDTH])
        if mobile is None:
            return None
        return self.e164_prefix + digits, mobile


_COLUMNS = {region: _Columns.of(plan) for region, plan in _PLANS.items()}


def normalise_columns(
    raws: Sequence[str], region: str = "CN"
) -> tuple[list[str | None], list[bool], list[str | None]]:
    """`normalise_many` as three columns: E.164 (or None), is_mobile, and the reason when
    rejected. The commonest shapes are read from tables (`_Columns.number`) without building
    a result object; every other cell takes normalise_many's path."""
    columns = _COLUMNS.get(region.upper())
    plan = _PLANS.get(region.upper())
    e164s: list[str | None] = []
    mobiles: list[bool] = []
    reasons: list[str | None] = []
    add_e164, add_mobile, add_reason = e164s.append, mobiles.append, reasons.append
    number = columns.number if columns is not None else None
    for raw in raws:
        found = None
        if number is not None and raw.isascii() and "0" <= raw[-1:] <= "9":
            if raw[0] in "123456789+(" and len(raw) <= _MAX_INPUT_LENGTH:
                # quick()'s cells: clean() leaves them as they are.
                found = number(raw)
            elif raw[0] in "'0" and len(raw) <= _MAX_INPUT_LENGTH:
                # An apostrophe or a 00 prefix: what clean() makes of an ASCII cell, when
                # decide() would read no extension in it.
                text = clean(raw)
                if text and "#" not in text and "ext" not in text and "0" <= text[-1] <= "9":
                    found = number(text)
        if found is not None:
            add_e164(found[0])
            add_mobile(found[1])
            add_reason(None)
            continue
        result = _normalise(plan, raw, region)
        if type(result) is Rejected:
            add_e164(None)
            add_mobile(False)
            add_reason(result.reason.value)
        else:
            add_e164(result.value)  # type: ignore[union-attr]
            add_mobile(result.is_mobile)  # type: ignore[union-attr]
            add_reason(None)
    return e164s, mobiles, reasons


def normalise_many(raws: Iterable[str], region: str = "CN") -> list[E164 | Rejected]:
    """Normalise a column of cells; a cell repeated in the column is read once."""
    plan = _PLANS.get(region.upper())
    seen: dict[str, E164 | Rejected] = {}
    results: list[E164 | Rejected] = []
    append = results.append
    for raw in raws:
        result = seen.get(raw)
        if result is None:
            # _normalise, inlined: this loop is the hot path.
            if plan is None:
                result = normalise(raw, region)
            elif (
                raw.isdigit()
                and raw[:_GUARD_WIDTH] in plan.plain_starts
                and raw.isascii()
                and len(raw) <= _MAX_NSN_LENGTH
            ):
                result = plan.valid(raw) or plan.decide(raw, raw)
            elif (number := plan.quick(raw)) is not None:
                result = number
            else:
                text = clean(raw)
                if not text or text[0] == "=":
                    result = Rejected(raw, ExclusionReason.INVALID_NUMBER)
                else:
                    try:
                        result = plan.decide(raw, text)
                    except _Uncertain:
                        result = _uncertain(raw, text, region)
            seen[raw] = result
        append(result)
    return results
