"""Overview: KPI tiles against the previous period, then every campaign and every branch."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import auth, data, widgets
from dashboard.i18n import t

user = auth.require()
st.title(t("overview.title"))
widgets.show_flashes()
# Labels are worked out now, not in format_func, which may run outside this session.
periods = {n: t("overview.days", n=n) for n in (1, 7, 30)}
picked = st.segmented_control(
    t("overview.period"),
    list(periods),
    default=7,
    format_func=periods.__getitem__,
    key="overview-days",
)
days: int = picked or 7

# Rates move in percentage points; for abandons and complaints, down is good.
_TILES = (
    ("attempts", "count", "normal"),
    ("right_party", "count", "normal"),
    ("successes", "count", "normal"),
    ("conversion", "rate", "normal"),
    ("completion", "rate", "normal"),
    ("abandon_rate", "rate", "inverse"),
    ("complaints", "count", "inverse"),
)


@st.fragment(run_every=data.LIVE_SECONDS * 2)
def tiles() -> None:
    o = data.overview(user.branch_scope, days)
    first, last = o["current"]
    st.caption(
        t(
            "overview.compared",
            first=first,
            last=last,
            pfirst=o["previous"][0],
            plast=o["previous"][1],
        )
    )
    columns = st.columns(len(_TILES))
    for column, (key, kind, colour) in zip(columns, _TILES, strict=True):
        tile = o["tiles"][key]
        value, before = tile["value"], tile["previous"]
        if kind == "rate":
            shown = widgets.pct(value)
            delta = None if before is None else f"{(value - before) * 100:+.1f} pp"
        else:
            shown = f"{value:,}"
            delta = None if before is None else f"{value - before:+,}"
        column.metric(
            t(f"kpi.{key}"),
            shown,
            delta=delta,
            delta_color=colour,  # type: ignore[arg-type]
            help=t(f"kpi.{key}.help"),
        )


tiles()
o = data.overview(user.branch_scope, days)
if not o["campaigns"]:
    st.info(t("no_campaigns"))
    st.stop()

st.subheader(t("overview.campaigns"))
st.caption(t("overview.alltime"))
columns: dict[str, Any] = {
    "id": st.column_config.NumberColumn("#"),
    "name": t("campaign"),
    "state": t("state"),
    "branch": t("branch"),
    "offer": t("offer"),
    "attempts": widgets.number("kpi.attempts", "%d"),
    "right_party": widgets.number("kpi.right_party", "%d"),
    "successes": widgets.number("kpi.successes", "%d"),
    "conversion": widgets.number("kpi.conversion", "percent"),
    "goal": widgets.number("goal", "%d"),
    "completion": st.column_config.ProgressColumn(
        t("kpi.completion"), format="percent", min_value=0.0, max_value=1.0
    ),
    "abandon_rate": widgets.number("kpi.abandon_rate", "percent"),
    "complaints": widgets.number("kpi.complaints", "%d"),
}
frame = pd.DataFrame(o["campaigns"])
frame["state"] = frame["state"].map(lambda s: t(f"state.{s}"))
st.dataframe(
    frame[list(columns)],
    column_config=columns,
    hide_index=True,
    width="stretch",
    key="overview-campaigns",
)

st.subheader(t("overview.branches"))
branches = pd.DataFrame(o["branches"])
branch_columns: dict[str, Any] = {
    "branch": t("branch"),
    "campaigns": widgets.number("overview.campaign_count", "%d"),
    "active": widgets.number("overview.active", "%d"),
} | {k: v for k, v in columns.items() if k not in ("id", "name", "state", "branch", "offer")}
left, right = st.columns([3, 2])
left.dataframe(
    branches[list(branch_columns)],
    column_config=branch_columns,
    hide_index=True,
    width="stretch",
    key="overview-branches",
)
branches["label"] = [
    f"{s:,} · {c:.1%} {t('of_rpc')}"
    for s, c in zip(branches["successes"], branches["conversion"], strict=True)
]
bars = (
    alt.Chart(branches)
    .mark_bar()
    .encode(
        y=alt.Y("branch:N", title=t("branch")),
        x=alt.X("successes:Q", title=t("kpi.successes")),
        tooltip=[
            alt.Tooltip("branch:N", title=t("branch")),
            alt.Tooltip("successes:Q", title=t("kpi.successes"), format=","),
            alt.Tooltip("right_party:Q", title=t("kpi.right_party"), format=","),
            alt.Tooltip("conversion:Q", title=t("kpi.conversion"), format=".1%"),
            alt.Tooltip("completion:Q", title=t("kpi.completion"), format=".0%"),
        ],
    )
)
labels = bars.mark_text(align="left", dx=3).encode(text=alt.Text("label:N"))
right.altair_chart(bars + labels, width="stretch")
st.caption(t("overview.hint"))
