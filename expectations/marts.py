"""One suite per contract mart, as dbt left it, plus a scan for personal data in the analysts'
schemas.

Keys, labels and references are dbt tests (``dbt_project``: unique, not_null, in_vocabulary,
relationships) and fail the build itself; these suites hold what dbt does not check: a mart
not empty, scores and durations in their plausible ranges, places per leaderboard, and no
personal-data column anywhere analysts read.
"""

from __future__ import annotations

import great_expectations.expectations as gxe

from expectations.base import CRITICAL, WARNING, Suite, whole_table

# The quarterly rewards go to the top 10 per metric (contract: ranks 1-10, ties left out whole).
LEADERBOARD_PLACES = 10
# loyalty_score is a weighted sum of capped parts whose weights add up to 100.
LOYALTY_RANGE = (0, 100)
# A visit is closed at the dwell cap, never longer than a day.
MAX_DWELL_MINUTES = 24 * 60
# Schemas analysts read (contract: libcrm_analyst reads the dbt schemas); none may hold PII.
ANALYST_SCHEMAS = ("staging", "intermediate", "marts", "snapshots")
# Column names that identify a person; they belong in raw and identity only.
PII_COLUMNS = (
    "name",
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "phone_number",
    "address",
    "birth_date",
    "date_of_birth",
    "barcode",
    "card_number",
    "patron_id",
    "student_id",
    "national_id",
)


def marts_user_profiles() -> Suite:
    """Profiles were built, loyalty in range."""
    return whole_table(
        "marts_user_profiles",
        "marts.user_profiles",
        [
            gxe.ExpectTableRowCountToBeBetween(min_value=1, severity=CRITICAL),
            gxe.ExpectColumnValuesToBeBetween(
                column="loyalty_score",
                min_value=LOYALTY_RANGE[0],
                max_value=LOYALTY_RANGE[1],
                severity=WARNING,
            ),
        ],
    )


def marts_opinion_leaders() -> Suite:
    """Ranks from 1, a non-negative score."""
    return whole_table(
        "marts_opinion_leaders",
        "marts.opinion_leaders",
        [
            gxe.ExpectColumnValuesToBeBetween(column="rank", min_value=1, severity=CRITICAL),
            gxe.ExpectColumnValuesToBeBetween(column="score", min_value=0, severity=WARNING),
        ],
    )


def marts_leaderboard_quarterly() -> Suite:
    """At most ten places per quarter and metric, positive values."""
    return whole_table(
        "marts_leaderboard_quarterly",
        "marts.leaderboard_quarterly",
        [
            gxe.UnexpectedRowsExpectation(
                description=f"at most {LEADERBOARD_PLACES} rows per quarter and metric",
                unexpected_rows_query="select quarter, metric, count(*) as places from {batch} "  # noqa: S608
                f"group by quarter, metric having count(*) > {LEADERBOARD_PLACES}",
                severity=CRITICAL,
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="value", min_value=0, strict_min=True, severity=WARNING
            ),
        ],
    )


def marts_fct_visits() -> Suite:
    """Visits last between zero minutes and a day."""
    return whole_table(
        "marts_fct_visits",
        "marts.fct_visits",
        [
            gxe.ExpectColumnValuesToBeBetween(
                column="dwell_minutes", min_value=0, max_value=MAX_DWELL_MINUTES, severity=WARNING
            ),
        ],
    )


def marts_pii_columns() -> Suite:
    """No column of the analysts' schemas is named like personal data; failures name it."""
    schemas = ", ".join(f"'{schema}'" for schema in ANALYST_SCHEMAS)
    denied = ", ".join(f"'{column}'" for column in PII_COLUMNS)
    return Suite(
        "marts_pii_columns",
        "select table_schema, table_name, column_name from information_schema.columns "  # noqa: S608
        f"where table_schema in ({schemas})",
        [
            gxe.UnexpectedRowsExpectation(
                description="no personal-data column (name, email, card, patron id...) in the "
                "schemas analysts read",
                unexpected_rows_query="select table_schema, table_name, column_name from {batch} "  # noqa: S608
                f"where lower(column_name) in ({denied})",
                severity=CRITICAL,
            ),
        ],
    )
