"""The simulated library writes the documented exports, deterministically, with real signal."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from libcrm.tooling.simulate import SCALES, Scale, SimulationSummary, simulate
from libcrm.tooling.simulate.__main__ import main

SOURCES_DOC = Path(__file__).resolve().parent.parent / "docs" / "sources.md"
FIRST_DAY = date(2026, 3, 16)
DAYS = 3
EXPORT_DAYS = [FIRST_DAY + timedelta(days=offset) for offset in range(DAYS)]
HISTORY_START = date(2025, 9, 1)
CSV_FILES = {
    "ils": ("patrons.csv", "items.csv", "loans.csv", "holds.csv", "purchase_requests.csv"),
    "gate": ("gate_log.csv",),
}
JSON_FILES = {"events": ("events.json", "registrations.json")}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
TINY = Scale(
    name="tiny",
    patrons=120,
    items=600,
    loans_per_year=4_000,
    gate_passages_per_year=10_000,
    events_per_year=40,
    registrations_per_year=600,
)


def run(landing: Path, truth: Path, **overrides) -> SimulationSummary:
    arguments = {"scale": "small", "first_day": FIRST_DAY, "days": DAYS, "seed": 42}
    arguments.update(overrides)
    return simulate(landing, truth, **arguments)


def all_files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def read_array(path: Path) -> list[dict]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return document[path.stem]


class Library:
    """The exports of one simulation, read back as a pipeline would read them."""

    def __init__(self, landing: Path, truth: Path, summary: SimulationSummary) -> None:
        self.landing, self.summary = landing, summary
        self.truth = json.loads(truth.read_text(encoding="utf-8"))
        self.days: dict[date, dict[str, pd.DataFrame]] = {}
        for day in EXPORT_DAYS:
            files = {}
            for source, names in CSV_FILES.items():
                for name in names:
                    files[name] = read_csv(landing / source / day.isoformat() / name)
            for name in JSON_FILES["events"]:
                records = read_array(landing / "events" / day.isoformat() / name)
                files[name] = pd.json_normalize(records) if records else pd.DataFrame()
            self.days[day] = files

    def every(self, name: str) -> pd.DataFrame:
        """Rows of a file over all export days, latest state per key last."""
        return pd.concat([files[name] for files in self.days.values()], ignore_index=True)

    def latest(self, name: str, key: str) -> pd.DataFrame:
        return self.every(name).drop_duplicates(key, keep="last").set_index(key)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    root = tmp_path_factory.mktemp("library")
    summary = run(root / "landing", root / "truth.json")
    return Library(root / "landing", root / "truth.json", summary)


def documented_columns() -> dict[str, list[str]]:
    """File name -> column names, from the tables of docs/sources.md."""
    columns: dict[str, list[str]] = {}
    current = None
    for line in SOURCES_DOC.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^## .*`([a-z_]+\.csv)`", line)
        if heading:
            current = heading.group(1)
            columns[current] = []
        elif line.startswith("## "):
            current = None
        elif current and (cell := re.match(r"^\| `([a-z_]+)` \|", line)):
            columns[current].append(cell.group(1))
    return columns


def test_same_arguments_give_byte_identical_files(tmp_path: Path, library: Library) -> None:
    run(tmp_path / "landing", tmp_path / "truth.json")
    again = all_files(tmp_path / "landing")
    assert again == all_files(library.landing)
    assert (tmp_path / "truth.json").read_bytes() == (
        library.landing.parent / "truth.json"
    ).read_bytes()


def test_another_seed_gives_another_library(tmp_path: Path, library: Library) -> None:
    run(tmp_path / "landing", tmp_path / "truth.json", seed=7)
    other = all_files(tmp_path / "landing")
    mine = all_files(library.landing)
    assert other.keys() == mine.keys()
    assert other["ils/2026-03-16/loans.csv"] != mine["ils/2026-03-16/loans.csv"]


def test_rerun_overwrites_instead_of_appending(tmp_path: Path) -> None:
    first = run(tmp_path / "landing", tmp_path / "truth.json", scale=TINY)
    before = all_files(tmp_path)
    second = run(tmp_path / "landing", tmp_path / "truth.json", scale=TINY)
    assert all_files(tmp_path) == before
    assert first == second


def test_every_export_day_has_the_eight_documented_files(library: Library) -> None:
    expected = {
        f"{source}/{day.isoformat()}/{name}"
        for day in EXPORT_DAYS
        for source, names in {**CSV_FILES, **JSON_FILES}.items()
        for name in names
    }
    written = set(all_files(library.landing))
    assert written == expected
    assert library.summary.export_days == tuple(EXPORT_DAYS)


def test_csv_headers_are_exactly_the_documented_columns(library: Library) -> None:
    documented = documented_columns()
    assert set(documented) == {
        "patrons.csv",
        "items.csv",
        "loans.csv",
        "holds.csv",
        "purchase_requests.csv",
        "gate_log.csv",
    }
    for day in EXPORT_DAYS:
        for source, names in CSV_FILES.items():
            for name in names:
                path = library.landing / source / day.isoformat() / name
                header = path.read_text(encoding="utf-8").splitlines()[0]
                assert header.split(",") == documented[name], path


def test_json_files_have_the_documented_shape(library: Library) -> None:
    events = read_array(library.landing / "events" / FIRST_DAY.isoformat() / "events.json")
    assert set(events[0]) == {
        "id",
        "title",
        "category",
        "start",
        "end",
        "location",
        "seats",
        "registration",
    }
    assert {event["category"]["name"] for event in events} <= {
        "lecture",
        "reading_club",
        "workshop",
        "reading_festival",
    }
    assert all(isinstance(event["registration"], bool) for event in events)
    path = library.landing / "events" / FIRST_DAY.isoformat() / "registrations.json"
    registrations = read_array(path)
    assert set(registrations[0]) == {
        "registration_id",
        "event_id",
        "barcode",
        "registered_at",
        "attendance",
        "rating",
    }
    assert {r["attendance"] for r in registrations} == {"attended", "no_show", "unknown"}
    assert {r["rating"] for r in registrations} <= {None, 1, 2, 3, 4, 5}


def test_times_dates_and_enumerations_follow_the_contract(library: Library) -> None:
    loans = library.every("loans.csv")
    for column in ("checkout_at", "due_at"):
        assert loans[column].str.match(TIMESTAMP).all()
    returned = loans["returned_at"]
    assert returned[returned != ""].str.match(TIMESTAMP).all()
    assert library.every("gate_log.csv")["timestamp"].str.match(TIMESTAMP).all()
    patrons = library.every("patrons.csv")
    for column in ("birth_date", "registered_on", "expires_on"):
        pd.to_datetime(patrons[column], format="%Y-%m-%d")
    assert set(patrons["category"]) == {"undergraduate", "graduate", "faculty", "staff"}
    assert set(patrons["opt_out"]) == {"true", "false"}
    assert (patrons.loc[patrons["category"] == "staff", "enrolled_year"] == "").all()
    assert patrons["barcode"].is_unique and patrons["patron_id"].is_unique
    items = library.every("items.csv")
    assert set(items["material_type"]) == {"book", "study_room", "locker", "laptop"}
    assert set(items["status"]) == {"available", "on_loan", "lost", "withdrawn", "not_for_loan"}


def test_loans_reference_patrons_and_items_exported_by_then(library: Library) -> None:
    patrons, items = set(), set()
    for files in library.days.values():
        patrons |= set(files["patrons.csv"]["patron_id"])
        items |= set(files["items.csv"]["item_id"])
        loans = files["loans.csv"]
        assert loans["patron_id"].isin(patrons).all()
        assert loans["item_id"].isin(items).all()
        assert loans["loan_id"].is_unique
        cards = set(library.every("patrons.csv")["barcode"])
        assert files["gate_log.csv"]["card_number"].isin(cards).all()


def test_returns_come_after_checkouts_and_dues_follow_the_loan_period(library: Library) -> None:
    loans = library.latest("loans.csv", "loan_id")
    items = library.latest("items.csv", "item_id")
    checkout = pd.to_datetime(loans["checkout_at"])
    due = pd.to_datetime(loans["due_at"])
    returned = pd.to_datetime(loans["returned_at"].replace("", None))
    assert (returned.dropna() >= checkout[returned.notna()]).all()
    book = loans["item_id"].map(items["material_type"]).eq("book")
    assert ((due - checkout)[book] == pd.Timedelta(days=30)).all()
    assert ((due - checkout)[~book] == pd.Timedelta(hours=4)).all()
    hours = checkout.dt.hour
    assert hours.between(8, 21).all()
    book_returned = returned[book].dropna()
    late = (book_returned > due[book_returned.index]).mean()
    assert 0.02 < late < 0.25  # most books come back in time, some late
    assert 0.01 < returned[book].isna().mean() < 0.3  # some still out at the end
    again = loans.loc[book].duplicated(["patron_id", "item_id"]).mean()
    assert again < 0.02  # a patron hardly ever borrows the same book twice


def test_holds_wait_for_busy_copies_and_filled_ones_became_loans(library: Library) -> None:
    holds = library.latest("holds.csv", "hold_id")
    loans = library.latest("loans.csv", "loan_id")
    assert set(holds["status"]) == {"waiting", "filled", "expired", "cancelled"}
    placed = pd.to_datetime(holds["placed_at"])
    closed = pd.to_datetime(holds["closed_at"].replace("", None))
    assert (closed.dropna() > placed[closed.notna()]).all()
    assert holds.loc[holds["status"] == "waiting", "closed_at"].eq("").all()
    expired = holds["status"] == "expired"
    assert ((closed - placed)[expired] == pd.Timedelta(days=21)).all()
    filled = holds.loc[holds["status"] == "filled"]
    checkouts = set(zip(loans["patron_id"], loans["item_id"], loans["checkout_at"], strict=True))
    fills = zip(filled["patron_id"], filled["item_id"], filled["filled_at"], strict=True)
    assert all(fill in checkouts for fill in fills)
    assert 0.05 < len(filled) / len(loans) < 0.5  # popular copies have queues, most do not
    items = library.latest("items.csv", "item_id")
    gone = holds.loc[holds["status"] == "cancelled", "item_id"].map(items["status"])
    assert gone.isin(["lost", "withdrawn"]).all()


def test_purchase_requests_lead_to_bought_books_or_a_decision(library: Library) -> None:
    requests = library.latest("purchase_requests.csv", "request_id")
    items = library.latest("items.csv", "item_id")
    assert set(requests["status"]) <= {"pending", "ordered", "purchased", "rejected"}
    assert {"purchased", "rejected"} <= set(requests["status"])
    bought = requests.loc[requests["status"] == "purchased"]
    acquired = pd.to_datetime(bought["item_id"].map(items["acquired_on"]))
    assert (pd.to_datetime(bought["requested_at"]) < acquired + pd.Timedelta(days=1)).all()
    decided = pd.to_datetime(requests["decided_at"].replace("", None))
    assert (decided.dropna() > pd.to_datetime(requests["requested_at"])[decided.notna()]).all()
    assert requests.loc[requests["status"] == "pending", "decided_at"].eq("").all()
    assert requests.loc[requests["status"] != "purchased", "item_id"].eq("").all()
    weights = [1 if position % 2 == 0 else 3 for position in range(13)]
    for isbn in requests["isbn"]:
        checksum = sum(int(d) * w for d, w in zip(isbn, weights, strict=True))
        assert isbn.startswith("9787") and checksum % 10 == 0


def test_a_copy_is_never_lent_to_two_patrons_at_once(library: Library) -> None:
    loans = library.latest("loans.csv", "loan_id")
    loans = loans.assign(
        checkout=pd.to_datetime(loans["checkout_at"]),
        returned=pd.to_datetime(loans["returned_at"].replace("", "2100-01-01 00:00:00")),
    ).sort_values(["item_id", "checkout"], kind="stable")
    previous_return = loans.groupby("item_id")["returned"].shift()
    assert (loans["checkout"] >= previous_return)[previous_return.notna()].all()
    assert loans["item_id"].value_counts().max() > 10  # yet popular copies circulate a lot


def test_initial_export_holds_the_history_and_later_days_only_their_changes(
    library: Library,
) -> None:
    first = library.days[FIRST_DAY]
    checkout = pd.to_datetime(first["loans.csv"]["checkout_at"])
    assert checkout.min().date() <= HISTORY_START + timedelta(days=3)
    assert checkout.max().date() == FIRST_DAY
    gate_days = pd.to_datetime(first["gate_log.csv"]["timestamp"]).dt.date
    assert gate_days.min() <= HISTORY_START + timedelta(days=3)
    assert gate_days.max() == FIRST_DAY
    events_end = pd.to_datetime(library.latest("events.json", "id")["end"])
    for day in EXPORT_DAYS[1:]:
        files = library.days[day]
        loans = files["loans.csv"]
        out = pd.to_datetime(loans["checkout_at"]).dt.date == day
        back = pd.to_datetime(loans["returned_at"].replace("", None)).dt.date == day
        assert (out | back).all()
        assert out.any() and back.any()
        passed = pd.to_datetime(files["gate_log.csv"]["timestamp"]).dt.date
        assert len(passed) > 0 and (passed == day).all()
        registered = pd.to_datetime(files["patrons.csv"]["registered_on"]).dt.date
        assert (registered == day).any()
        assert (registered <= day).all()
        registrations = files["registrations.json"]
        if len(registrations):
            made = pd.to_datetime(registrations["registered_at"]).dt.date == day
            held = events_end.reindex(registrations["event_id"]).dt.date.to_numpy() == day
            assert (made.to_numpy() | held).all()

    status = first["items.csv"].set_index("item_id")["status"].to_dict()
    for day in EXPORT_DAYS[1:]:
        changed = library.days[day]["items.csv"]
        assert len(changed) > 0
        for item_id, now, acquired in changed[["item_id", "status", "acquired_on"]].itertuples(
            index=False
        ):
            assert now != status.get(item_id) or acquired == day.isoformat(), item_id
            status[item_id] = now


def test_status_changes_and_lost_books_had_loans(library: Library) -> None:
    items = library.latest("items.csv", "item_id")
    loans = library.latest("loans.csv", "loan_id")
    share = items["status"].value_counts(normalize=True)
    for status in ("lost", "withdrawn", "not_for_loan"):
        assert 0.005 < share[status] < 0.05
    retired = items.index[items["status"].isin(["lost", "withdrawn"])]
    assert set(retired) <= set(loans["item_id"])
    never_loaned = items.index[items["status"] == "not_for_loan"]
    assert not set(never_loaned) & set(loans["item_id"])
    open_loans = loans.loc[loans["returned_at"] == "", "item_id"]
    on_loan = items.index[items["status"] == "on_loan"]
    assert set(on_loan) <= set(open_loans)
    nonbook = items.index[items["material_type"] != "book"]
    per_nonbook = loans["item_id"].isin(nonbook).sum() / len(nonbook)
    per_book = (~loans["item_id"].isin(nonbook)).sum() / (len(items) - len(nonbook))
    assert per_nonbook > 5 * per_book  # few rooms and laptops, loaned over and over


def test_gate_log_has_in_and_out_passages_in_opening_hours(library: Library) -> None:
    gate = library.every("gate_log.csv")
    assert set(gate["direction"]) == {"in", "out"}
    assert set(gate["gate_id"]) <= {"G1", "G2", "G3", "G4"}
    ins, outs = (gate["direction"] == "in").sum(), (gate["direction"] == "out").sum()
    assert 0.9 * ins < outs < ins  # every visit has an entry; a few exits are missing
    moment = pd.to_datetime(gate["timestamp"])
    clock = moment.dt.hour * 60 + moment.dt.minute
    assert clock.between(7 * 60 + 45, 22 * 60 + 15).mean() > 0.99
    assert len(gate) == library.summary.gate_passages
    patrons = library.every("patrons.csv")
    visitors = gate["card_number"].nunique() / len(patrons)
    assert visitors > 0.8


def test_truth_file_describes_every_patron(library: Library) -> None:
    truth = library.truth
    assert truth["seed"] == 42 and truth["scale"] == "small"
    patrons = library.latest("patrons.csv", "patron_id")
    assert set(truth["patrons"]) == set(patrons.index)
    assert len(patrons) == library.summary.patrons
    archetypes = {record["archetype"] for record in truth["patrons"].values()}
    assert archetypes == {"steady", "growing", "lapsing", "new", "occasional"}
    leaders = {p for p, record in truth["patrons"].items() if record["opinion_leader"]}
    assert 0.01 * len(patrons) <= len(leaders) <= 0.03 * len(patrons)
    for patron_id, record in truth["patrons"].items():
        if record["leader"] is not None:
            assert record["leader"] in leaders
            leader = truth["patrons"][record["leader"]]
            assert leader["taste_cluster"] == record["taste_cluster"], patron_id
    assert {str(c) for c in range(20)} == set(truth["clusters"])


def book_loans(library: Library) -> pd.DataFrame:
    loans = library.latest("loans.csv", "loan_id").reset_index()
    items = library.latest("items.csv", "item_id")
    loans = loans.loc[loans["item_id"].map(items["material_type"]).eq("book")].copy()
    loans["checkout"] = pd.to_datetime(loans["checkout_at"])
    loans["work"] = loans["item_id"].map(items["title"] + "|" + items["author"])
    loans["subject"] = loans["item_id"].map(items["clc_class"])
    return loans


def share_taken_up(loans: pd.DataFrame, patron: str, leader: str, key: str) -> tuple[int, int]:
    """(loans of ``patron`` of a ``key`` (work or subject) ``leader`` borrowed 1-60 days
    before, all loans of patron)."""
    mine = loans.loc[loans["patron_id"] == patron, ["loan_id", key, "checkout"]]
    theirs = loans.loc[loans["patron_id"] == leader, [key, "checkout"]]
    pairs = mine.merge(theirs, on=key, suffixes=("", "_leader"))
    lag = pairs["checkout"] - pairs["checkout_leader"]
    after = (lag > pd.Timedelta(0)) & (lag <= pd.Timedelta(days=60))
    return int(pairs.loc[after, "loan_id"].nunique()), len(mine)


def followers_and_strangers(library: Library) -> list[tuple[str, str, str]]:
    """(follower, their leader, a reader of the leader's taste cluster who follows nobody
    else's lead and is not the leader), one per follower, drawn with a fixed seed."""
    patrons = library.truth["patrons"]
    rng = np.random.default_rng(0)
    chosen = []
    for patron, record in sorted(patrons.items()):
        leader = record["leader"]
        if leader is None:
            continue
        cluster = patrons[leader]["taste_cluster"]
        strangers = sorted(
            p
            for p, r in patrons.items()
            if r["taste_cluster"] == cluster and r["leader"] != leader and p != leader
        )
        chosen.append((patron, leader, strangers[rng.integers(len(strangers))]))
    return chosen


@pytest.mark.parametrize(("key", "factor"), [("work", 2.0), ("subject", 1.1)])
def test_followers_take_up_their_leaders_works_and_subjects(
    library: Library, key: str, factor: float
) -> None:
    """Followers borrow, days or weeks after their leader, the works the leader read and
    books of the leader's subjects, more than readers of the same taste do."""
    loans = book_loans(library)
    chosen = followers_and_strangers(library)
    assert len(chosen) > 20
    followed, control = [0, 0], [0, 0]
    for follower, leader, stranger in chosen:
        hits, total = share_taken_up(loans, follower, leader, key)
        followed = [followed[0] + hits, followed[1] + total]
        hits, total = share_taken_up(loans, stranger, leader, key)
        control = [control[0] + hits, control[1] + total]
    follower_share, control_share = followed[0] / followed[1], control[0] / control[1]
    print(f"{key}: followers {follower_share:.3f}, same taste {control_share:.3f}")
    assert follower_share > factor * control_share  # same taste alone does not explain it


def test_followers_sign_up_for_events_after_their_leader(library: Library) -> None:
    registrations = library.latest("registrations.json", "registration_id")
    patrons = library.latest("patrons.csv", "patron_id")
    registrations["patron_id"] = registrations["barcode"].map(
        pd.Series(patrons.index, index=patrons["barcode"])
    )
    registrations["at"] = pd.to_datetime(registrations["registered_at"])

    def after(patron: str, leader: str) -> int:
        mine = registrations.loc[registrations["patron_id"] == patron, ["event_id", "at"]]
        theirs = registrations.loc[registrations["patron_id"] == leader, ["event_id", "at"]]
        pairs = mine.merge(theirs, on="event_id", suffixes=("", "_leader"))
        return int((pairs["at"] > pairs["at_leader"]).sum())

    chosen = followers_and_strangers(library)
    followed = sum(after(follower, leader) for follower, leader, _ in chosen)
    control = sum(after(stranger, leader) for _, leader, stranger in chosen)
    print(f"events signed up after the leader: followers {followed}, same taste {control}")
    assert followed > 2 * control


def test_leaders_keep_their_books_as_long_as_everyone(library: Library) -> None:
    """Leaders are not planted as fast readers: a detector cannot lean on short loans."""
    loans = book_loans(library)
    loans = loans.loc[loans["returned_at"].ne("")]
    kept = (pd.to_datetime(loans["returned_at"]) - loans["checkout"]).dt.days
    leaders = {p for p, r in library.truth["patrons"].items() if r["opinion_leader"]}
    by_leader = kept.groupby(loans["patron_id"].isin(leaders)).median()
    assert 0.8 * by_leader[False] <= by_leader[True] <= 1.25 * by_leader[False]


def test_patrons_of_a_taste_cluster_borrow_the_same_books(library: Library) -> None:
    patrons = library.truth["patrons"]
    loans = book_loans(library)
    read = {p: set(g["item_id"]) for p, g in loans.groupby("patron_id") if len(g) >= 5}
    names = sorted(read)
    rng = np.random.default_rng(1)
    within, sibling, across = [], [], []
    for _ in range(40_000):
        a, b = rng.choice(len(names), size=2, replace=False)
        first, second = read[names[a]], read[names[b]]
        overlap = len(first & second) / len(first | second)
        one, other = (patrons[name]["taste_cluster"] for name in (names[a], names[b]))
        home = library.truth["clusters"]
        if one == other:
            within.append(overlap)
        elif home[str(one)]["department"] == home[str(other)]["department"]:
            sibling.append(overlap)
        else:
            across.append(overlap)
    assert len(within) > 500 and len(sibling) > 500
    assert np.mean(within) > 4 * np.mean(across)
    # Clusters of one department read the same subjects, yet not the same books: the signal
    # is in the items, beyond what the subject (or department) explains.
    assert np.mean(within) > 1.8 * np.mean(sibling)


def test_collaborative_filtering_beats_the_popularity_list(library: Library) -> None:
    loans = book_loans(library).sort_values("checkout", kind="stable")
    cutoff = loans["checkout"].quantile(0.85)
    train, test = loans.loc[loans["checkout"] < cutoff], loans.loc[loans["checkout"] >= cutoff]
    users = sorted(set(train["patron_id"]))
    books = sorted(set(loans["item_id"]))
    user_row = {user: row for row, user in enumerate(users)}
    book_column = {book: column for column, book in enumerate(books)}
    seen = np.zeros((len(users), len(books)))
    seen[train["patron_id"].map(user_row), train["item_id"].map(book_column)] = 1.0
    norm = np.sqrt(seen.sum(axis=0)) + 1e-9
    similarity = (seen.T @ seen) / norm[:, None] / norm[None, :]
    np.fill_diagonal(similarity, 0.0)
    popularity = seen.sum(axis=0)
    hits = {"item_knn": 0, "popularity": 0}
    relevant = 0
    for user, group in test.groupby("patron_id"):
        if user not in user_row:
            continue
        history = seen[user_row[user]]
        wanted = {book_column[book] for book in group["item_id"]}
        for name, scores in (("item_knn", history @ similarity), ("popularity", popularity)):
            scores = np.where(history > 0, -np.inf, scores)
            top = np.argsort(-scores, kind="stable")[:10]
            hits[name] += len(wanted & set(top.tolist()))
        relevant += len(wanted)
    assert relevant > 500
    assert hits["item_knn"] > 1.5 * hits["popularity"]


def test_activity_follows_the_academic_calendar_and_lifecycles(library: Library) -> None:
    loans = library.latest("loans.csv", "loan_id")
    day = pd.to_datetime(loans["checkout_at"]).dt.normalize()
    per_day = day.value_counts()
    holiday = per_day[(per_day.index >= "2026-02-01") & (per_day.index < "2026-02-25")]
    term = per_day[(per_day.index >= "2025-11-01") & (per_day.index < "2025-11-25")]
    assert holiday.sum() / 24 < 0.4 * term.sum() / 24
    archetype = pd.Series({p: r["archetype"] for p, r in library.truth["patrons"].items()})
    count = loans.groupby("patron_id").size().reindex(archetype.index, fill_value=0)
    mean = count.groupby(archetype).mean()
    assert mean["steady"] > 2 * mean["occasional"]
    last = day.groupby(loans["patron_id"]).max()
    lapsed = last.reindex(archetype.index[archetype == "lapsing"]).dropna()
    steady = last.reindex(archetype.index[archetype == "steady"]).dropna()
    assert lapsed.median() < steady.median() - pd.Timedelta(days=30)
    first = day.groupby(loans["patron_id"]).min()
    newcomers = first.reindex(archetype.index[archetype == "new"]).dropna()
    assert newcomers.min() > pd.Timestamp(HISTORY_START) + pd.Timedelta(days=90)
    growing = archetype.index[archetype == "growing"]
    grown = loans.loc[loans["patron_id"].isin(growing)]
    late = pd.to_datetime(grown["checkout_at"]) >= "2025-12-01"
    assert late.sum() > 1.2 * (~late).sum()


def test_upcoming_events_are_open_on_every_export_day(library: Library) -> None:
    seen = pd.DataFrame()
    registrations_seen = pd.DataFrame()
    for day in EXPORT_DAYS:
        files = library.days[day]
        seen = pd.concat([seen, files["events.json"]]).drop_duplicates("id", keep="last")
        end_of_day = datetime.combine(day, datetime.max.time())
        upcoming = seen.loc[(pd.to_datetime(seen["start"]) > end_of_day) & seen["registration"]]
        assert len(upcoming) > 0, day
        registrations_seen = pd.concat([registrations_seen, files["registrations.json"]])
        state = registrations_seen.drop_duplicates("registration_id", keep="last")
        ends = pd.to_datetime(seen.set_index("id")["end"]).reindex(state["event_id"])
        future = (ends > end_of_day).to_numpy()
        assert (state.loc[future, "attendance"] == "unknown").all()
        assert (state.loc[~future, "attendance"] != "unknown").all()
        assert state.loc[state["attendance"] != "attended", "rating"].isna().all()
    registrations = library.latest("registrations.json", "registration_id")
    events = library.latest("events.json", "id")
    per_event = registrations.groupby("event_id").size()
    assert (per_event <= events["seats"].reindex(per_event.index)).all()
    assert events["registration"].reindex(per_event.index).all()
    assert len(events) == library.summary.events
    assert len(registrations) == library.summary.registrations
    cards = set(library.every("patrons.csv")["barcode"])
    assert registrations["barcode"].isin(cards).all()


def test_summary_counts_what_was_written(library: Library) -> None:
    summary = library.summary
    assert summary.loans == library.every("loans.csv")["loan_id"].nunique()
    assert summary.items == library.every("items.csv")["item_id"].nunique()
    assert 12_000 < summary.loans < 18_000  # the small scale is ~15,000 loans
    assert 300 <= summary.patrons <= 400 and summary.items == 3_000
    assert 40 <= summary.events <= 90


def test_command_line_prints_a_one_line_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--landing", str(tmp_path / "landing"), "--truth", str(tmp_path / "truth.json")]
    assert main([*argv, "--scale", "small", "--first-day", "2026-03-16", "--days", "2"]) == 0
    output = capsys.readouterr().out.strip().splitlines()
    assert len(output) == 1 and "loans" in output[0] and "gate passages" in output[0]
    assert sorted(p.name for p in (tmp_path / "landing" / "ils").iterdir()) == [
        "2026-03-16",
        "2026-03-17",
    ]


def test_bad_arguments_are_refused_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown scale 'huge'"):
        run(tmp_path / "landing", tmp_path / "truth.json", scale="huge")
    with pytest.raises(ValueError, match="days must be at least 1"):
        run(tmp_path / "landing", tmp_path / "truth.json", days=0)
    assert set(SCALES) == {"small", "medium", "large"}
