"""Reports as tables, written as CSV (Excel-readable UTF-8 with BOM), XLSX and one
self-contained HTML page. Payloads come in with numbers already masked."""

from __future__ import annotations

import csv
import html
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Labels of figures: (Chinese, English). A Chinese branch reads both.
LABELS: dict[str, tuple[str, str]] = {
    "attempts": ("外呼次数", "attempts"),
    "records_dialled": ("拨打号码数", "records dialled"),
    "connected": ("接通数", "connects"),
    "right_party": ("机主本人接触", "right-party contacts (RPC)"),
    "pitched": ("推介数", "pitches"),
    "successes": ("办理成功", "successes"),
    "conversion_per_rpc": ("成功率(按机主)", "conversion per RPC"),
    "conversion_per_record": ("成功率(按号码)", "conversion per record"),
    "completion": ("目标完成率", "completion against goal"),
    "complaints": ("投诉", "complaints"),
    "dnc_requests": ("拒绝再呼", "do-not-call requests"),
    "abandon_rate": ("放弃率", "abandon rate"),
    "avg_talk_seconds": ("通话均长(秒)", "average talk time (s)"),
    "projected_finish": ("预计完成日期", "projected finish at current pace"),
    "refusal_reasons": ("拒绝原因", "top refusal reasons"),
    "day": ("当日", "day"),
    "cumulative": ("累计", "cumulative"),
    "trial": ("试呼", "trial"),
    "live": ("正式外呼", "live"),
    "metric": ("指标", "metric"),
    "count": ("次数", "count"),
    "key": ("分组", "group"),
    "live_contacts": ("人工应答", "live answers"),
    "records": ("号码数", "records"),
    "contact_rate": ("接触率", "contact rate"),
    "seizures": ("占用次数", "seizures"),
    "connects": ("接通次数", "connects"),
    "connect_rate": ("接通率", "connect rate"),
    "lost_calls": ("呼损数", "lost calls"),
    "talks": ("通话次数", "talks"),
    "answered_15s": ("15秒接通量", "answered within 15 s"),
    "answered_15s_rate": ("15秒接通率", "answered within 15 s, rate"),
    "avg_wait_seconds": ("接通排队等待均长(秒)", "average wait to bridge (s)"),
    "transfers_out": ("转出量", "transfers out"),
    "satisfaction": ("满意度", "satisfaction"),
    "ratings_requested": ("评定总数", "ratings requested"),
    "ratings_given": ("评定成功数", "ratings given"),
    "participation": ("客户参与率", "participation"),
    "conversions": ("成功办理", "conversions"),
    "calls": ("通话次数", "calls"),
    "talk_seconds": ("通话时长(秒)", "talk time (s)"),
    "utilisation": ("有效工时利用率", "effective work-hour use"),
    "agent": ("坐席工号", "agent"),
    "offer": ("业务", "offer"),
}

RATES = frozenset(
    {
        "conversion_per_rpc",
        "conversion_per_record",
        "completion",
        "abandon_rate",
        "contact_rate",
        "connect_rate",
        "answered_15s_rate",
        "satisfaction",
        "participation",
        "utilisation",
    }
)
NOT_RECORDED = "not recorded 未记录"


def label(key: str, chinese: bool) -> str:
    """A figure's label: 'Chinese English' for a Chinese branch, English otherwise."""
    zh, en = LABELS.get(key, (key, key))
    return f"{zh} {en}" if chinese else en


def cell(key: str, value: Any) -> str:
    """A figure as text: rates as percentages, None as 'not recorded'."""
    if value is None:
        return NOT_RECORDED
    if key in RATES and isinstance(value, int | float):
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@dataclass(frozen=True, slots=True)
class Table:
    """One titled table of a report."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


DAILY_FIGURES = (
    "attempts",
    "records_dialled",
    "connected",
    "right_party",
    "pitched",
    "successes",
    "conversion_per_rpc",
    "conversion_per_record",
    "completion",
    "complaints",
    "dnc_requests",
    "abandon_rate",
    "avg_talk_seconds",
)


def daily_tables(payload: dict[str, Any], *, chinese: bool) -> list[Table]:
    """The day next to the cumulative totals, each also split into trial and live."""
    phases = payload["phases"]
    columns = [
        ("day", "all", payload["day"]),
        ("day", "TRIAL", phases["day"]["TRIAL"]),
        ("day", "LIVE", phases["day"]["LIVE"]),
        ("cumulative", "all", payload["cumulative"]),
        ("cumulative", "TRIAL", phases["cumulative"]["TRIAL"]),
        ("cumulative", "LIVE", phases["cumulative"]["LIVE"]),
    ]

    def head(span: str, phase: str) -> str:
        text = label(span, chinese)
        return text if phase == "all" else f"{text} · {label(phase.lower(), chinese)}"

    header = (label("metric", chinese), *(head(s, p) for s, p, _ in columns))
    rows = [(label(k, chinese), *(cell(k, f[k]) for _, _, f in columns)) for k in DAILY_FIGURES]
    finish = payload["projected"]
    rows.append(
        (
            label("projected_finish", chinese),
            finish["finish"] or "—",
            f"{finish['pace_per_day']:.1f}/day",
            f"{finish['remaining']:,} to go",
            "on track" if finish["on_track"] else "behind",
            "",
            "",
        )
    )
    title = f"{payload['campaign']} · {payload['branch']} · {payload['date']}"
    refusals = Table(
        label("refusal_reasons", chinese),
        (label("refusal_reasons", chinese), label("day", chinese), label("cumulative", chinese)),
        tuple(
            (r["reason"], str(r["day"]), str(r["count"])) for r in payload["top_refusal_reasons"]
        ),
    )
    return [Table(title, header, tuple(rows)), refusals]


def _cells_table(title: str, rows: Sequence[dict[str, Any]], chinese: bool) -> Table:
    keys: tuple[str, ...] = ("key", "attempts", "records", "live", "right_party", "successes")
    keys += ("contact_rate", "conversion_per_rpc", "conversion_per_record")
    names = {"live": "live_contacts"}
    return Table(
        title,
        tuple(label(names.get(k, k), chinese) for k in keys),
        tuple(tuple(cell(k, r[k]) for k in keys) for r in rows),
    )


def summary_tables(payload: dict[str, Any], *, chinese: bool) -> list[Table]:
    """The final summary: goal, activation, hot spots, breakdowns, recommendations."""
    goal, act = payload["goal"], payload["activation"]
    head = (label("metric", chinese), "")
    overview = Table(
        f"{payload['campaign']} · {payload['branch']} · {payload['state']} · {payload['window']}",
        head,
        (
            ("目标 goal" if chinese else "goal", f"{goal['goal_activations']:,}"),
            (label("successes", chinese), f"{goal['successes']:,}"),
            (
                "目标达成 goal met" if chinese else "goal met",
                "yes 是" if goal["met"] else f"no 否 (short by {goal['shortfall']:,})",
            ),
            (label("completion", chinese), cell("completion", goal["completion"])),
            (
                "开通成功率(有效号码) activation / valid list"
                if chinese
                else "activation / valid list",
                f"{act['rate_vs_valid_list']:.1%} of {act['valid_list']:,}",
            ),
            (
                "开通成功率(机主) activation / RPC" if chinese else "activation / RPC",
                f"{act['rate_vs_rpc']:.1%} of {act['right_party']:,}",
            ),
        ),
    )
    spots = payload["hot_spots"]
    tables = [
        overview,
        Table(
            "客户热点 hot spots: refusals" if chinese else "hot spots: refusals",
            (label("refusal_reasons", chinese), label("count", chinese), "share"),
            tuple(
                (r["reason"], str(r["count"]), f"{r['share']:.0%}")
                for r in spots["refusal_reasons"]
            ),
        ),
        Table(
            "客户热点 hot spots: questions and objections"
            if chinese
            else "hot spots: questions and objections",
            ("question", "disposition", label("count", chinese)),
            tuple((q["question"], q["disposition"], str(q["count"])) for q in spots["questions"]),
        ),
    ]
    for key, zh, en in (
        ("by_phase", "试呼与正式", "trial vs live"),
        ("by_segment", "按客户群", "per segment"),
        ("by_script_version", "按脚本版本", "per script version"),
        ("by_hour", "按时段", "per hour of day"),
        ("by_agent", "按坐席", "per agent"),
    ):
        tables.append(_cells_table(f"{zh} {en}" if chinese else en, payload[key], chinese))
    tables.append(
        Table(
            "建议 recommendations" if chinese else "recommendations",
            ("#", "recommendation"),
            tuple((str(i), r) for i, r in enumerate(payload["recommendations"], 1)),
        )
    )
    return tables


OPS_FIGURES = (
    "seizures",
    "connects",
    "connect_rate",
    "lost_calls",
    "talks",
    "answered_15s",
    "answered_15s_rate",
    "avg_wait_seconds",
    "avg_talk_seconds",
    "transfers_out",
    "ratings_requested",
    "ratings_given",
    "satisfaction",
    "participation",
    "conversions",
    "utilisation",
)


def operations_tables(payload: dict[str, Any]) -> list[Table]:
    """The operations report: totals per offer, per agent, and the definitions."""
    offers = payload["by_offer"]
    header = (label("metric", True), "total", *(o["offer"] for o in offers))
    totals = Table(
        f"{payload['label']} ({payload['timezone']})",
        header,
        tuple(
            (
                label(k, True),
                cell(k, payload["totals"][k]),
                *(cell(k, o.get(k)) for o in offers),
            )
            for k in OPS_FIGURES
        ),
    )
    keys = ("agent", "calls", "talk_seconds", "avg_talk_seconds", "conversions", "utilisation")
    agents = Table(
        "坐席 per agent",
        tuple(label(k, True) for k in keys),
        tuple(tuple(cell(k, a[k]) for k in keys) for a in payload["per_agent"]),
    )
    definitions = Table(
        "口径 definitions",
        ("figure", "definition"),
        tuple((k, v) for k, v in payload["definitions"].items()),
    )
    return [totals, agents, definitions]


def write_csv(tables: Sequence[Table], path: Path) -> Path:
    """One CSV with the tables one after another; the BOM makes Excel read it as UTF-8."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        for i, t in enumerate(tables):
            if i:
                out.writerow([])
            out.writerow([t.title])
            out.writerow(t.header)
            out.writerows(t.rows)
    return path


def write_xlsx(tables: Sequence[Table], path: Path) -> Path:
    """One workbook sheet per table."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for i, t in enumerate(tables, 1):
        # Sheet titles allow 31 characters and no []:*?/\ .
        name = "".join(ch for ch in t.title if ch not in "[]:*?/\\")[:28] or "sheet"
        sheet = book.create_sheet(f"{i}.{name}"[:31])
        sheet.append([t.title])
        sheet["A1"].font = Font(bold=True)
        sheet.append(list(t.header))
        for row in t.rows:
            sheet.append(list(row))
    book.save(path)
    return path


_STYLE = (
    "body{font-family:-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;margin:2em}"
    "table{border-collapse:collapse;margin:1em 0}"
    "th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}"
    "th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}"
)


def write_html(tables: Sequence[Table], path: Path, *, title: str) -> Path:
    """One HTML page with inline styles and no external resources."""
    parts = [
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
    ]
    for t in tables:
        parts.append(f"<h2>{html.escape(t.title)}</h2><table><thead><tr>")
        parts += [f"<th>{html.escape(h)}</th>" for h in t.header]
        parts.append("</tr></thead><tbody>")
        for row in t.rows:
            parts.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    path.write_text("".join(parts), encoding="utf-8")
    return path


def markdown(tables: Sequence[Table], *, title: str) -> str:
    """The tables as Markdown, for a Prefect artifact."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    out = [f"# {title}"]
    for t in tables:
        out += ["", f"## {t.title}", "", line(t.header), line(["---"] * len(t.header))]
        out += [line(r) for r in t.rows]
    return "\n".join(out) + "\n"


def render(tables: Sequence[Table], fmt: str, *, title: str) -> bytes:
    """The tables as the bytes of a CSV, XLSX or HTML file (for a download)."""
    writers = {
        "csv": lambda p: write_csv(tables, p),
        "xlsx": lambda p: write_xlsx(tables, p),
        "html": lambda p: write_html(tables, p, title=title),
    }
    if fmt not in writers:
        raise ValueError(f"unknown report format {fmt!r}")
    with tempfile.TemporaryDirectory() as tmp:
        return writers[fmt](Path(tmp) / f"report.{fmt}").read_bytes()


def write_all(
    payload: dict[str, Any], tables: Sequence[Table], directory: Path, stem: str, *, title: str
) -> list[Path]:
    """JSON (the payload), CSV, XLSX and HTML (the tables) of one report, named `stem.*` in
    `directory`; the JSON's path comes first."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stem}.json"
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    return [
        path,
        write_csv(tables, directory / f"{stem}.csv"),
        write_xlsx(tables, directory / f"{stem}.xlsx"),
        write_html(tables, directory / f"{stem}.html", title=title),
    ]
