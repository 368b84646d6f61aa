"""What the API reads from ``portal``: always the rows of the newest completed publication.

Each statement finds the night in ``portal.publication`` and joins the rows of that night, in
one snapshot, so a response never mixes two nights; while a night is being published the
previous one is served (the publication row and the tables commit together).
"""

from __future__ import annotations

from typing import LiteralString

from psycopg import sql

# The night served: the newest publication row. Stated once; every read of a night's rows
# starts from it as the CTE ``served`` (:func:`_of_served`).
SERVED = sql.SQL("""
select generated_for, published_at, model_version, activity_model_version, row_counts
from portal.publication
order by generated_for desc
limit 1
""")


def _of_served(query: LiteralString) -> sql.Composed:
    """``query`` as one statement, with the served night as the CTE ``served``."""
    return sql.SQL("with served as ({served}){query}").format(served=SERVED, query=sql.SQL(query))


BOOKS = _of_served("""
select
    r.rank, r.score, r.reason_code, r.reason_params, served.generated_for, r.model_version,
    r.item_id, coalesce(i.title, r.item_id), i.author, i.call_number, i.clc_class
from served
inner join portal.resource_recommendations as r on served.generated_for = r.generated_for
left join portal.items as i on r.item_id = i.item_id
where r.patron_id = %(patron)s
order by r.rank
""")

EVENTS = _of_served("""
select
    r.rank, r.score, r.reason_code, r.reason_params, served.generated_for, r.model_version,
    r.event_id, coalesce(e.title, r.event_id), coalesce(e.category, ''), e.starts_at,
    e.ends_at, e.place
from served
inner join portal.activity_recommendations as r on served.generated_for = r.generated_for
left join portal.events as e on r.event_id = e.event_id
where r.patron_id = %(patron)s
order by r.rank
""")

KNOWN_PATRON = _of_served("""
select
    exists (
        select from portal.resource_recommendations as r
        inner join served on r.generated_for = served.generated_for
        where r.patron_id = %(patron)s
    )
    or exists (
        select from portal.activity_recommendations as r
        inner join served on r.generated_for = served.generated_for
        where r.patron_id = %(patron)s
    )
""")

KNOWN_ITEM = sql.SQL("select exists (select from portal.items where item_id = %(item)s)")

SIMILAR = _of_served("""
select
    s.rank, s.score, s.model_version, s.similar_item_id, coalesce(i.title, s.similar_item_id),
    i.author, i.call_number, i.clc_class
from served
inner join portal.similar_items as s on served.generated_for = s.generated_for
left join portal.items as i on s.similar_item_id = i.item_id
where s.item_id = %(item)s
order by s.rank
""")

IMPRESSIONS = sql.SQL("""
insert into portal.impressions (patron_id, kind, target_id, shown_at)
select %(patron)s, %(kind)s, target_id, %(at)s
from unnest(%(ids)s::text[]) as shown (target_id)
""")

DISMISSAL = sql.SQL("""
insert into portal.dismissals (patron_id, kind, target_id, dismissed_at)
values (%(patron)s, %(kind)s, %(id)s, coalesce(%(at)s, now()))
""")
