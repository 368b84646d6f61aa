"""A campaign's goal and its measured result in plain words, in the current language."""

from __future__ import annotations

from datetime import date

from libcrm.workspace.i18n import N_
from libcrm.workspace.i18n import gettext as _

STATUS = {"draft": N_("Draft"), "launched": N_("Launched"), "measured": N_("Measured")}
GOAL_KINDS = {
    "borrow_any": N_("Borrow any book"),
    "borrow_clc": N_("Borrow a book of a CLC class"),
    "visit": N_("Visit the library"),
    "event_signup": N_("Sign up for an event"),
}
# What a reader who reached the goal did, to fit in the result sentence.
REACHED = {
    "borrow_any": N_("borrowed a book"),
    "borrow_clc": N_("borrowed a book of CLC class %(clc_class)s"),
    "visit": N_("visited the library"),
    "event_signup": N_("signed up for the event “%(event)s”"),
}
MINUS = "\u2212"  # a typographic minus, as a printed report shows it


def goal_words(goal: dict, event_title: str | None = None) -> str:
    """The goal as the campaign list shows it: "Borrow a book of a CLC class (I)"."""
    kind = GOAL_KINDS[goal["kind"]]
    words = _(kind)
    detail = goal.get("clc_class") or event_title or goal.get("event_id")
    return f"{words} ({detail})" if detail else words


def _reached(goal: dict, event_title: str | None) -> str:
    message = REACHED[goal["kind"]]
    return _(
        message,
        clc_class=goal.get("clc_class", ""),
        event=event_title or goal.get("event_id", ""),
    )


def _points(value: float) -> str:
    signed = f"{value * 100:+.0f}"
    return signed.replace("-", MINUS) if signed not in ("+0", "-0") else "0"


def sentence(
    goal: dict,
    result: dict,
    window_end: date,
    event_title: str | None = None,
) -> str:
    """The result of one measured night in plain words: the two groups' shares, the
    difference with its 95% interval, and whether it could be chance."""
    reached = _reached(goal, event_title)
    contacted, control = result["contacted"], result["control"]
    share = result["contacted_reached"] / contacted if contacted else 0.0
    if not control or result["difference"] is None:
        text = _(
            "Of the %(contacted)s contacted readers, %(share)s %(reached)s in the window. "
            "There is no control group to compare with, so the effect cannot be measured.",
            contacted=contacted,
            share=f"{share:.0%}",
            reached=reached,
        )
    else:
        difference = round(result["difference"] * 100)
        if difference > 0:
            change = _("%(points)s points more", points=difference)
        elif difference < 0:
            change = _("%(points)s points fewer", points=-difference)
        else:
            change = _("no difference")
        if result["ci_low"] > 0:
            verdict = _("The campaign very likely helped.")
        elif result["ci_high"] < 0:
            verdict = _("The campaign very likely hurt.")
        else:
            verdict = _("The difference could be chance.")
        text = _(
            "Of the %(contacted)s contacted readers, %(share)s %(reached)s in the window, "
            "against %(control_share)s of the %(control)s in the control group: %(change)s "
            "(%(confidence)s interval %(low)s to %(high)s points). %(verdict)s",
            contacted=contacted,
            share=f"{share:.0%}",
            reached=reached,
            control_share=f"{result['control_reached'] / control:.0%}",
            control=control,
            change=change,
            confidence="95%",
            low=_points(result["ci_low"]),
            high=_points(result["ci_high"]),
            verdict=verdict,
        )
    if result["night"] < window_end:
        text += " " + _(
            "Measured up to %(night)s; the window ends %(end)s, so this is not yet the final "
            "result.",
            night=result["night"],
            end=window_end,
        )
    return text
