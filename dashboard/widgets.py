"""Pieces more than one page shows: the campaign picker, messages kept across a rerun,
the feasibility report, and number formats."""

from __future__ import annotations

from typing import Any

import streamlit as st

from campaigns.access import Principal
from dashboard import data
from dashboard.i18n import t

_FLASH = "flash"


def flash(kind: str, message: str) -> None:
    """Show `message` after the rerun an action triggers (success, info, warning, error)."""
    st.session_state.setdefault(_FLASH, []).append((kind, message))


def show_flashes() -> None:
    """Show, once, the messages actions left for this run."""
    for kind, message in st.session_state.pop(_FLASH, []):
        getattr(st, kind)(message)


def pick_campaign(user: Principal, *, key: str = "campaign") -> dict[str, Any] | None:
    """A campaign chosen from the user's own (a branch user's branch only), preselected by
    the ?campaign= parameter when it names one of them; None when there is none."""
    rows = data.campaign_choices(user.branch_scope)
    if not rows:
        st.info(t("no_campaigns"))
        return None
    by_id = {r["id"]: r for r in rows}
    wanted = st.query_params.get("campaign")
    # Another branch's campaign is not among the choices, so it falls back to the first.
    ids = list(by_id)
    index = ids.index(int(wanted)) if wanted and wanted.isdigit() and int(wanted) in by_id else 0
    # Labels are worked out now, not in format_func, which may run outside this session.
    # No state in them: the browser keeps a keyed widget's labels, so it would go stale.
    labels = {i: f"#{i} {r['name']} · {r['branch']}" for i, r in by_id.items()}
    chosen = st.selectbox(t("campaign"), ids, index=index, key=key, format_func=labels.__getitem__)
    st.query_params["campaign"] = str(chosen)
    return by_id[chosen]


def pct(value: float | None) -> str:
    """A rate as a percentage, '—' when there is none."""
    return "—" if value is None else f"{value:.1%}"


def number(label_key: str, fmt: str) -> Any:
    """A table column of numbers, headed by the translated label (fmt: "%d", "percent"…)."""
    return st.column_config.NumberColumn(t(label_key), format=fmt)


def count_with_rate(count: int, rate: float | None, of: str) -> str:
    """A count with the rate it carries, e.g. '1,234 (12.5% of attempts)'."""
    return f"{count:,} ({pct(rate)} {of})"


def show_feasibility(campaign_id: int, report: dict[str, Any]) -> None:
    """A feasibility report: verdict, reasons, suggestions, figures, cleaning preview."""
    verdict = report["verdict"]
    box = {"FEASIBLE": st.success, "AT_RISK": st.warning, "INFEASIBLE": st.error}[verdict]
    box(
        f"**{t('feasibility.of', id=campaign_id)}: {verdict}**\n\n"
        + "\n".join(f"- {r}" for r in report["reasons"])
        + "".join(f"\n- **{t('feasibility.suggestion')}:** {s}" for s in report["suggestions"])
    )
    left, right = st.columns(2)
    left.dataframe(
        [{t("figure"): k, t("value"): v} for k, v in data.feasibility_rows(report)],
        hide_index=True,
    )
    preview = dict(report["cleaning_preview"])
    right.bar_chart(
        {t("contacts"): preview},
        horizontal=True,
        x_label=t("contacts"),
        y_label=t("feasibility.preview"),
    )
