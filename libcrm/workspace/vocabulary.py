"""The names librarians read for the codes of the vocabulary seed (segments, stages, ...).

The codes themselves are stated once, in dbt_project/seeds/crm_vocabulary.csv;
tests/test_workspace_i18n.py checks every code there has a name here and a translation.
"""

from __future__ import annotations

from libcrm.workspace.i18n import N_, gettext

NAMES = {
    "role": {
        "librarian": N_("Librarian"),
        "outreach": N_("Outreach"),
        "admin": N_("Administrator"),
    },
    "value_segment": {
        "long_term": N_("Long-term reader"),
        "growth": N_("Growth reader"),
        "short_term": N_("Short-term reader"),
        "inactive": N_("Inactive"),
    },
    "lifecycle_stage": {
        "freshman": N_("Freshman"),
        "new": N_("New"),
        "active": N_("Active"),
        "returning": N_("Returning"),
        "at_risk": N_("At risk"),
        "lapsed": N_("Lapsed"),
        "graduated": N_("Graduated"),
        "left": N_("Left"),
    },
    "persona": {
        "avid_reader": N_("Avid reader"),
        "event_goer": N_("Event goer"),
        "study_space_user": N_("Study-space user"),
        "occasional_user": N_("Occasional user"),
        "dormant": N_("Dormant"),
    },
    "patron_category": {
        "undergraduate": N_("Undergraduate"),
        "graduate": N_("Graduate student"),
        "faculty": N_("Faculty"),
        "staff": N_("Staff"),
    },
    "event_category": {
        "lecture": N_("Lecture"),
        "reading_club": N_("Reading club"),
        "workshop": N_("Workshop"),
        "reading_festival": N_("Reading festival"),
    },
    "material_type": {
        "book": N_("Book"),
        "study_room": N_("Study room"),
        "locker": N_("Locker"),
        "laptop": N_("Laptop"),
    },
    "hold_status": {
        "waiting": N_("Waiting"),
        "filled": N_("Filled"),
        "expired": N_("Expired"),
        "cancelled": N_("Cancelled"),
    },
    "purchase_request_status": {
        "pending": N_("Pending"),
        "ordered": N_("Ordered"),
        "purchased": N_("Purchased"),
        "rejected": N_("Rejected"),
    },
    "attendance": {
        "attended": N_("Attended"),
        "no_show": N_("No-show"),
        "unknown": N_("Not yet recorded"),
    },
}

# The rules behind segments and stages in plain words, shown on the segments page. The
# thresholds are the dbt vars of dbt_project/dbt_project.yml (see rule()).
RULES = {
    # Value segments rank each reader among their peers (dbt model int_user_engagement_ranked).
    "long_term": N_(
        "Engagement of at least %(long_term_min_engagement)s among their peers in the last "
        "%(activity_window_days)s days and in the %(activity_window_days)s days before, with "
        "activity in at least %(long_term_min_active_months)s months: a reader to keep."
    ),
    "growth": N_(
        "Engagement of at least %(growth_min_engagement)s among their peers in the last "
        "%(activity_window_days)s days, but not yet long-term (one way of using the library "
        "in the top tenth of the peers is enough): a reader to cultivate."
    ),
    "short_term": N_(
        "Some loan, visit, attended event, hold or purchase request in the last "
        "%(activity_window_days)s days, but less engaged: a reader to serve simply."
    ),
    "inactive": N_("Nothing at all in the last %(activity_window_days)s days."),
    # Lifecycle timers count teaching days: term days outside holidays (the academic calendar).
    "freshman": N_("A student in the first term of their cohort (enrolled this academic year)."),
    "new": N_("Registered within the last %(new_user_days)s teaching days."),
    "active": N_("Active within the last %(at_risk_after_days)s teaching days."),
    "returning": N_(
        "Back within the last %(returning_within_days)s teaching days after a silence of at "
        "least %(lapsed_after_days)s teaching days."
    ),
    "at_risk": N_(
        "Silent for at least %(at_risk_after_days)s teaching days (vacations do not count)."
    ),
    "lapsed": N_(
        "Silent for at least %(lapsed_after_days)s teaching days (vacations do not count), or "
        "never active."
    ),
    "graduated": N_(
        "A student whose card has expired or whose cohort has graduated (undergraduates after "
        "%(undergraduate_study_years)s years, graduate students after "
        "%(graduate_study_years)s): never at risk, no recommendations."
    ),
    "left": N_("Faculty or staff whose card has expired: never at risk, no recommendations."),
}


def label(kind: str, code: str | None) -> str:
    """The name of a code in the current language; unknown codes are shown as they are."""
    if code is None:
        return "—"
    name = NAMES.get(kind, {}).get(code)
    return gettext(name) if name else code


def rule(code: str, thresholds: dict) -> str:
    """The rule behind a segment or stage in plain words, with the library's thresholds."""
    return gettext(RULES[code], **thresholds)


# The main classes of the Chinese Library Classification (中国图书馆分类法), and TP, the
# computing class libraries count apart from the rest of T.
CLC_CLASSES = {
    "A": N_("Marxism-Leninism, Mao Zedong Thought, Deng Xiaoping Theory"),
    "B": N_("Philosophy and religion"),
    "C": N_("Social sciences in general"),
    "D": N_("Politics and law"),
    "E": N_("Military science"),
    "F": N_("Economics"),
    "G": N_("Culture, science, education and sports"),
    "H": N_("Languages and writing"),
    "I": N_("Literature"),
    "J": N_("Art"),
    "K": N_("History and geography"),
    "N": N_("Natural sciences in general"),
    "O": N_("Mathematics, physics and chemistry"),
    "P": N_("Astronomy and earth sciences"),
    "Q": N_("Biology"),
    "R": N_("Medicine and health"),
    "S": N_("Agriculture"),
    "T": N_("Industrial technology"),
    "TP": N_("Automation and computing"),
    "U": N_("Transport"),
    "V": N_("Aviation and aerospace"),
    "X": N_("Environment and safety"),
    "Z": N_("General works"),
}


def clc_name(code: str | None) -> str:
    """A CLC class as its code and name in the current language, e.g. "I · Literature"."""
    if not code:
        return gettext("Unclassified")
    name = CLC_CLASSES.get(code) or CLC_CLASSES.get(code[:1])
    return f"{code} · {gettext(name)}" if name else code
