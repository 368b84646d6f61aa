"""An outreach in the simulated library: contacted readers come to borrow, from the window on
only, and the truth file says how much more they borrowed than they would have."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from libcrm.tooling.simulate import Outreach, simulate
from tests.test_simulate import Library, all_files, read_csv

FIRST_DAY = date(2026, 3, 16)
WINDOW = (date(2026, 3, 17), date(2026, 3, 18))
CONTACTED = 300


def run(folder: Path, outreach: Outreach | None = None) -> Library:
    landing, truth = folder / "landing", folder / "truth.json"
    summary = simulate(
        landing, truth, scale="small", first_day=FIRST_DAY, days=3, seed=42, outreach=outreach
    )
    return Library(landing, truth, summary)


@pytest.fixture(scope="module")
def libraries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Library]:
    root = tmp_path_factory.mktemp("outreach")
    plain = run(root / "plain")
    patrons = read_csv(plain.landing / "ils" / FIRST_DAY.isoformat() / "patrons.csv")
    cards = tuple(patrons["barcode"].head(CONTACTED))
    return {
        "plain": plain,
        "reached": run(root / "reached", Outreach(cards, *WINDOW)),
        "unanswered": run(root / "unanswered", Outreach(cards, *WINDOW, response_rate=0.0)),
        "cards": cards,
    }


def checkouts(library: Library) -> pd.DataFrame:
    loans = library.latest("loans.csv", "loan_id")
    material = loans["item_id"].map(library.latest("items.csv", "item_id")["material_type"])
    return loans.assign(day=pd.to_datetime(loans["checkout_at"]).dt.date, book=material == "book")


def test_days_before_the_window_are_byte_identical_with_and_without_outreach(libraries):
    plain, reached = all_files(libraries["plain"].landing), all_files(libraries["reached"].landing)
    assert plain.keys() == reached.keys()
    before = [name for name in plain if f"/{FIRST_DAY.isoformat()}/" in name]
    assert len(before) == 8
    assert all(plain[name] == reached[name] for name in before)
    assert plain["ils/2026-03-17/loans.csv"] != reached["ils/2026-03-17/loans.csv"]
    assert libraries["plain"].truth["patrons"] == libraries["reached"].truth["patrons"]
    assert "outreach" not in libraries["plain"].truth


def test_a_message_nobody_answers_changes_no_export(libraries):
    assert all_files(libraries["unanswered"].landing) == all_files(libraries["plain"].landing)
    planted = libraries["unanswered"].truth["outreach"]
    assert planted["contacted"] == CONTACTED
    assert planted["responded"] == planted["outreach_loans"] == 0
    assert planted["effect"] == 0


def test_contacted_readers_borrow_more_in_the_window_and_only_then(libraries):
    plain, reached = checkouts(libraries["plain"]), checkouts(libraries["reached"])
    key = ["patron_id", "item_id", "checkout_at"]
    added = reached.merge(plain[key], on=key, how="left", indicator=True)
    added = added.loc[added["_merge"] == "left_only"]
    assert len(added) > 0 and (added["day"] >= WINDOW[0]).all()
    patrons = libraries["plain"].latest("patrons.csv", "patron_id")
    contacted = set(patrons.index[patrons["barcode"].isin(libraries["cards"])])

    def borrowers(loans: pd.DataFrame) -> int:
        window = loans.loc[loans["day"].between(*WINDOW) & loans["book"]]
        return len(set(window["patron_id"]) & contacted)

    planted = libraries["reached"].truth["outreach"]
    assert planted["borrowed"] == borrowers(reached)  # the truth counts what the exports show
    assert borrowers(reached) > borrowers(plain)
    # About 30 % answer; the desk turns some of them down (copy out, no copy yet).
    assert 0.2 * CONTACTED < planted["responded"] < 0.4 * CONTACTED
    assert 0 < planted["outreach_loans"] < planted["responded"]
    assert planted["effect"] == pytest.approx(
        (planted["borrowed"] - planted["would_have_borrowed"]) / CONTACTED, abs=1e-6
    )
    assert planted["effect"] > 0.03


def test_prompted_loans_keep_the_desk_and_the_gate_consistent(libraries):
    loans = checkouts(libraries["reached"]).assign(
        checkout=lambda frame: pd.to_datetime(frame["checkout_at"]),
        returned=lambda frame: pd.to_datetime(
            frame["returned_at"].replace("", "2100-01-01 00:00:00")
        ),
    )
    loans = loans.sort_values(["item_id", "checkout"], kind="stable")
    previous_return = loans.groupby("item_id")["returned"].shift()
    assert (loans["checkout"] >= previous_return)[previous_return.notna()].all()
    patrons = libraries["reached"].latest("patrons.csv", "patron_id")
    gate = libraries["reached"].every("gate_log.csv")
    visited = set(zip(gate["card_number"], pd.to_datetime(gate["timestamp"]).dt.date, strict=True))
    window = loans.loc[loans["day"] >= WINDOW[0]]
    cards = window["patron_id"].map(patrons["barcode"])
    assert all(visit in visited for visit in zip(cards, window["day"], strict=True))


def test_an_outreach_outside_the_simulated_days_is_refused(tmp_path: Path):
    late = Outreach(("2024000001",), date(2026, 3, 18), date(2026, 3, 20))
    with pytest.raises(ValueError, match="outside the simulated days"):
        run(tmp_path, late)
    with pytest.raises(ValueError, match="response_rate"):
        Outreach((), *WINDOW, response_rate=1.5)


def test_the_truth_file_stays_json(libraries):
    text = (libraries["reached"].landing.parent / "truth.json").read_text()
    assert json.loads(text)["outreach"]["first_day"] == WINDOW[0].isoformat()
