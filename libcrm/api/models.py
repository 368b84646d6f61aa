"""The API's request and response bodies (the OpenAPI document is generated from them)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

# Identifiers of patrons, items and events as the ILS exports them.
IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
Identifier = Annotated[str, Field(pattern=IDENTIFIER, examples=["P000123"])]
Kind = Literal["books", "events"]
Language = Literal["zh", "en"]
# Ids one impression may report: a portal page shows a list of ten.
MAX_IDS = 100
# A report from the future beyond clock skew is a mistake of the portal, not an impression.
CLOCK_SKEW = timedelta(minutes=5)


def _not_future(moment: datetime) -> datetime:
    if moment > datetime.now(UTC) + CLOCK_SKEW:
        raise ValueError("is in the future: send the time it happened")
    return moment


Happened = Annotated[AwareDatetime, AfterValidator(_not_future)]


# Event times are the library's wall-clock time as its event system exports them, without an
# offset: not an RFC 3339 date-time, so the document says what they are instead.
LocalTime = Annotated[
    datetime,
    PlainSerializer(lambda moment: moment.isoformat(timespec="seconds"), return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$",
            "description": "the library's local time, ISO 8601 without an offset",
            "examples": ["2026-03-26T14:00:00"],
        }
    ),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Publication(BaseModel):
    generated_for: date = Field(description="the night whose data the recommendations use")
    published_at: datetime = Field(description="when that night was published")
    model_version: str = Field(description="the book recommender's version")
    activity_model_version: str | None = Field(description="the event recommender's version")
    row_counts: dict[str, int] = Field(description="rows published per portal table")


class Reason(BaseModel):
    code: str = Field(
        description="one of the reason codes listed in the README", examples=["popular"]
    )
    params: dict[str, str | int] = Field(description="the code's parameters")
    text: str | None = Field(
        description="the reason worded in the asked language; null when this version cannot "
        "word it (a code it does not know, or a parameter the sentence needs is missing)"
    )


class Item(BaseModel):
    item_id: str
    title: str
    author: str | None
    call_number: str | None
    clc_class: str | None


class Event(BaseModel):
    event_id: str
    title: str
    category: str = Field(description="the category's code")
    category_name: str = Field(description="the category named in the asked language")
    starts_at: LocalTime | None
    ends_at: LocalTime | None
    place: str | None


class Recommendation(BaseModel):
    rank: int
    score: float
    reason: Reason
    item: Item | None = Field(description="for kind=books")
    event: Event | None = Field(description="for kind=events")


class Recommendations(BaseModel):
    patron_id: str
    kind: Kind
    lang: Language
    generated_for: date
    model_version: str
    recommendations: list[Recommendation]


class Similar(BaseModel):
    rank: int
    score: float
    item: Item


class SimilarItems(BaseModel):
    item_id: str
    generated_for: date
    model_version: str | None
    similar: list[Similar]


class Impression(Strict):
    patron_id: Identifier
    kind: Kind
    ids: list[Identifier] = Field(
        min_length=1, max_length=MAX_IDS, description="the item or event ids shown, in order"
    )
    shown_at: Happened = Field(description="when the portal showed them (with a time zone)")


class Dismissal(Strict):
    patron_id: Identifier
    kind: Kind
    id: Identifier = Field(description="the item or event id the reader is not interested in")
    dismissed_at: Happened | None = Field(
        default=None, description="when the reader dismissed it; default: now"
    )


class Error(BaseModel):
    detail: str = Field(description="what went wrong and what to do")


class Received(BaseModel):
    received: int = Field(description="rows stored; the next night's run takes them in")
