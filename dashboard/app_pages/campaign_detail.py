"""One campaign: live numbers, controls, then why: the funnel, the daily trend, the heat
map, trial against live, exclusions, script versions, dispositions, what it waits for."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from campaigns.errors import NotFoundError
from dashboard import auth, controls, data, widgets
from dashboard.i18n import t, weekday


def _daily_lines(trend: pd.DataFrame, measures: list[str], *, rates: bool) -> None:
    """One line per measure over the days: counts, or rates on a percent axis."""
    long = trend.melt(id_vars=["date"], value_vars=measures, var_name="m", value_name="v")
    long["measure"] = long["m"].map(lambda m: t(f"kpi.{m}"))
    title = t("rate") if rates else t("count")
    axis = alt.Axis(format="%") if rates else alt.Undefined
    st.altair_chart(
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("date:T", title=t("day")),
            y=alt.Y("v:Q", title=title, axis=axis),
            color=alt.Color("measure:N", title=None),
            tooltip=[
                alt.Tooltip("date:T", title=t("day")),
                alt.Tooltip("measure:N", title=t("figure")),
                alt.Tooltip("v:Q", title=title, format=".1%" if rates else ","),
            ],
        ),
        width="stretch",
    )


user = auth.require()
st.title(t("campaign.title"))
widgets.show_flashes()
picked = widgets.pick_campaign(user)
if picked is None:
    st.stop()
campaign_id = int(picked["id"])
try:
    board = data.campaign_board(campaign_id, user.branch_scope)
except NotFoundError:  # the picker offers the user's own campaigns only; belt and braces
    st.error(t("not_found"))
    st.stop()

st.caption(
    t(
        "campaign.header",
        branch=board["branch"],
        offer=board["offer"],
        first=board["window_start"],
        last=board["window_end"],
        goal=f"{board['goal']:,}",
        script=board["script"]["version"] if board["script"] else "—",
    )
)


@st.fragment(run_every=data.LIVE_SECONDS)
def live() -> None:
    pulse = data.campaign_pulse(campaign_id, user.branch_scope)
    total, today = pulse["total"], pulse["today"]
    c = st.columns(6)
    c[0].metric(t("state"), t(f"state.{pulse['state']}"))
    c[1].metric(
        t("kpi.attempts"), f"{total['attempts']:,}", help=t("campaign.today", n=today["attempts"])
    )
    c[2].metric(t("kpi.connect_rate"), widgets.pct(total["connect_rate"]))
    c[3].metric(
        t("kpi.successes"),
        f"{total['successes']:,}",
        help=t("campaign.today", n=today["successes"]),
    )
    c[4].metric(
        t("kpi.conversion"), widgets.pct(total["conversion"]), help=t("kpi.conversion.help")
    )
    c[5].metric(
        t("kpi.completion"), widgets.pct(total["completion"]), help=t("kpi.completion.help")
    )
    hour = pulse["latest_hour"]
    if hour is not None:
        st.caption(
            t(
                "campaign.latest_hour",
                hour=hour["hour"].strftime("%Y-%m-%d %H:00 UTC"),
                attempts=hour["attempts"],
                live=hour["live"],
                abandon=widgets.pct(hour["abandon_rate"]),
            )
        )


live()
controls.render(user, board)

tabs = st.tabs(
    [
        t("tab.funnel"),
        t("tab.trend"),
        t("tab.heatmap"),
        t("tab.phases"),
        t("tab.exclusions"),
        t("tab.scripts"),
        t("tab.dispositions"),
        t("tab.waiting"),
        t("tab.actions"),
    ]
)

with tabs[0]:
    stages = pd.DataFrame(board["stages"])
    stages["label"] = [
        f"{n:,} · {r:.1%} {t('of_records')}" + (f" · {p:.1%} {t('of_previous')}" if i else "")
        for i, n, r, p in zip(
            stages["order"],
            stages["count"],
            stages["of_records"],
            stages["of_previous"],
            strict=True,
        )
    ]
    stages["name"] = stages["stage"].map(lambda s: t(f"stage.{s}"))
    bars = (
        alt.Chart(stages)
        .mark_bar()
        .encode(
            y=alt.Y("name:N", sort=alt.SortField("order"), title=None),
            # Room on the right for the labels of the longest bar.
            x=alt.X(
                "count:Q",
                title=t("contacts"),
                scale=alt.Scale(domain=[0, max(1, int(stages["count"].max())) * 1.5]),
            ),
            tooltip=[
                alt.Tooltip("name:N", title=t("stage")),
                alt.Tooltip("count:Q", title=t("contacts"), format=","),
                alt.Tooltip("of_records:Q", title=t("of_records"), format=".1%"),
                alt.Tooltip("of_previous:Q", title=t("of_previous"), format=".1%"),
            ],
        )
    )
    text = bars.mark_text(align="left", dx=3).encode(text="label:N")
    st.altair_chart(bars + text, width="stretch")
    st.caption(t("funnel.note"))
    f = board["funnel"]
    st.dataframe(
        [
            {t("figure"): t("kpi.attempts"), t("value"): f"{f['attempts']:,}"},
            {
                t("figure"): t("kpi.connect_rate"),
                t("value"): widgets.count_with_rate(
                    f["connected"], f["connect_rate"], t("of_attempts")
                ),
            },
            {
                t("figure"): t("kpi.right_party"),
                t("value"): widgets.count_with_rate(f["right_party"], f["rpc_rate"], t("of_live")),
            },
            {
                t("figure"): t("kpi.successes"),
                t("value"): widgets.count_with_rate(
                    f["successes"], f["conversion_per_rpc"], t("of_rpc")
                ),
            },
            {
                t("figure"): t("kpi.abandon_rate"),
                t("value"): widgets.count_with_rate(
                    f["abandoned"], f["abandon_rate"], t("of_live")
                ),
            },
            {t("figure"): t("kpi.complaints"), t("value"): f"{f['complaints']:,}"},
        ],
        hide_index=True,
        key="funnel-figures",
    )

with tabs[1]:
    if board["trend"]:
        trend = pd.DataFrame(board["trend"])
        trend["date"] = pd.to_datetime(trend["date"])
        _daily_lines(trend, ["attempts", "connected", "right_party", "successes"], rates=False)
        _daily_lines(trend, ["contact_rate", "conversion"], rates=True)
        st.caption(t("trend.note", tz=board["timezone"]))
    else:
        st.info(t("no_calls"))

with tabs[2]:
    if board["heatmap"]:
        heat = pd.DataFrame(board["heatmap"])
        heat["day"] = heat["weekday_no"].map(weekday)
        order = [weekday(i) for i in range(7)]
        base = alt.Chart(heat).encode(
            x=alt.X("hour:O", title=t("hour_of_day")),
            y=alt.Y("day:O", sort=order, title=None),
        )
        cells = base.mark_rect().encode(
            color=alt.Color(
                "contact_rate:Q", title=t("kpi.contact_rate"), legend=alt.Legend(format="%")
            ),
            tooltip=[
                alt.Tooltip("day:O", title=t("weekday")),
                alt.Tooltip("hour:O", title=t("hour_of_day")),
                alt.Tooltip("attempts:Q", title=t("kpi.attempts"), format=","),
                alt.Tooltip("live:Q", title=t("kpi.live"), format=","),
                alt.Tooltip("contact_rate:Q", title=t("kpi.contact_rate"), format=".1%"),
            ],
        )
        labels = base.mark_text(fontSize=10).encode(text=alt.Text("contact_rate:Q", format=".0%"))
        st.altair_chart(cells + labels, width="stretch")
        st.caption(t("heatmap.note", tz=board["timezone"]))
    else:
        st.info(t("no_calls"))

with tabs[3]:
    trial, phases = board["trial"], board["phases"]
    if trial["sample"] is not None:
        st.caption(
            t("phases.trial", sample=trial["sample"], decision=trial["decision"] or "—")
            + ("; " + "; ".join(trial["reasons"]) if trial["reasons"] else "")
        )
    keys = ("connect_rate", "contact_rate", "rpc_rate", "conversion_per_rpc", "abandon_rate")
    rows = [
        {"phase": t(f"phase.{p}"), "measure": t(f"kpi.{k}"), "rate": phases[p][k]}
        for p in phases
        for k in keys
    ]
    st.altair_chart(
        alt.Chart(pd.DataFrame(rows))
        .mark_bar()
        .encode(
            x=alt.X("rate:Q", title=t("rate"), axis=alt.Axis(format="%")),
            y=alt.Y("measure:N", title=None),
            yOffset="phase:N",
            color=alt.Color("phase:N", title=None),
            tooltip=[
                alt.Tooltip("phase:N", title=t("phase")),
                alt.Tooltip("measure:N", title=t("figure")),
                alt.Tooltip("rate:Q", title=t("rate"), format=".1%"),
            ],
        ),
        width="stretch",
    )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    t("phase"): t(f"phase.{p}"),
                    t("kpi.attempts"): f["attempts"],
                    t("stage.dialled"): f["records_dialled"],
                    t("kpi.connected"): f["connected"],
                    t("kpi.right_party"): f["right_party"],
                    t("kpi.successes"): f["successes"],
                    t("kpi.conversion"): widgets.pct(f["conversion_per_rpc"]),
                    t("kpi.complaints"): f["complaints"],
                    t("kpi.abandon_rate"): widgets.pct(f["abandon_rate"]),
                }
                for p, f in phases.items()
            ]
        ),
        hide_index=True,
        key="phases-table",
    )

with tabs[4]:
    ledger = board["ledger"]
    if ledger:
        st.caption(
            t(
                "ledger.summary",
                excluded=f"{ledger['excluded']:,}",
                total=f"{ledger['kept'] + ledger['excluded']:,}",
                kept=f"{ledger['kept']:,}",
            )
        )
        st.dataframe(
            data.ledger_rows(ledger),
            hide_index=True,
            width="stretch",
            key="ledger",
            column_config={
                "reason": t("ledger.reason"),
                "rule": t("ledger.rule"),
                "first": widgets.number("ledger.first", "%d"),
                "alone": widgets.number("ledger.alone", "%d"),
            },
        )
    else:
        st.info(t("ledger.none"))
    states = board["contacts_by_state"]
    if states:
        st.caption(
            t("contacts_by_state") + ": " + ", ".join(f"{k} {v:,}" for k, v in states.items())
        )

with tabs[5]:
    if board["scripts"]:
        scripts = pd.DataFrame(board["scripts"])
        scripts["version"] = scripts["version"].map(lambda v: f"v{v}" if v == v else "—")
        st.dataframe(
            scripts[["version", "attempts", "right_party", "successes", "conversion"]],
            hide_index=True,
            key="scripts",
            column_config={
                "version": t("script_version"),
                "attempts": widgets.number("kpi.attempts", "%d"),
                "right_party": widgets.number("kpi.right_party", "%d"),
                "successes": widgets.number("kpi.successes", "%d"),
                "conversion": widgets.number("kpi.conversion", "percent"),
            },
        )
        st.caption(t("scripts.note"))
    else:
        st.info(t("no_calls"))

with tabs[6]:
    if board["dispositions"]:
        disp = pd.DataFrame(board["dispositions"])
        disp["label"] = [
            f"{n:,} · {s:.1%}" for n, s in zip(disp["attempts"], disp["share"], strict=True)
        ]
        bars = (
            alt.Chart(disp)
            .mark_bar()
            .encode(
                y=alt.Y("disposition:N", sort="-x", title=None),
                x=alt.X(
                    "attempts:Q",
                    title=t("kpi.attempts"),
                    scale=alt.Scale(domain=[0, int(disp["attempts"].max()) * 1.3]),
                ),
                tooltip=[
                    alt.Tooltip("disposition:N", title=t("disposition")),
                    alt.Tooltip("attempts:Q", title=t("kpi.attempts"), format=","),
                    alt.Tooltip("share:Q", title=t("share"), format=".1%"),
                ],
            )
        )
        st.altair_chart(
            bars + bars.mark_text(align="left", dx=3).encode(text="label:N"), width="stretch"
        )
    else:
        st.info(t("no_calls"))

with tabs[7]:
    r = data.readiness(campaign_id, user.branch_scope)
    if r["halted"]:
        st.warning(t("waiting.halted", state=t(f"state.{r['state']}")))
    c = st.columns(3)
    c[0].metric(t("waiting.ready"), f"{r['ready']:,}")
    c[1].metric(t("waiting.due"), f"{r['due_now']:,}")
    c[2].metric(
        t("waiting.callable"),
        f"{r['callable_now']:,}",
        help=t("waiting.sampled", n=r["sampled"]) if r["sampled"] != r["due_now"] else None,
    )
    waits = [{t("contacts"): b["contacts"], t("waiting.for"): b["label"]} for b in r["blocked_now"]]
    waits += [
        {
            t("contacts"): w["contacts"],
            t("waiting.for"): t(
                "waiting.scheduled",
                what=w["waiting_for"],
                first=w["from"].strftime("%Y-%m-%d %H:%M"),
                last=w["to"].strftime("%Y-%m-%d %H:%M"),
            ),
        }
        for w in r["scheduled"]
    ]
    if waits:
        st.dataframe(waits, hide_index=True, width="stretch", key="waits")
    elif not r["halted"]:
        st.info(t("waiting.nothing"))
    h = r["latest_hour"]
    if h is not None:
        st.caption(
            t(
                "waiting.latest",
                dials=f"{h['dial_rate_per_hour']:,}",
                occupancy=widgets.pct(h["occupancy"]),
                agents=h["agents"],
                abandon=widgets.pct(h["abandon_rate"]),
            )
        )

with tabs[8]:
    if board["actions"]:
        st.dataframe(
            pd.DataFrame(board["actions"]),
            hide_index=True,
            width="stretch",
            key="actions",
            column_config={
                "at": st.column_config.DatetimeColumn(t("at"), format="YYYY-MM-DD HH:mm"),
                "actor": t("actor"),
                "action": t("action"),
                "from": t("from_state"),
                "to": t("to_state"),
                "note": t("note"),
            },
        )
