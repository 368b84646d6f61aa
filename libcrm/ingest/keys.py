"""Who a row names: the one path by which rows of either speed get their ``user_key``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from libcrm.ingest.fields import Entity, RowError
from libcrm.pseudonym import user_key


class Keys:
    """The ``user_key`` of rows keyed by patron id: a keyed pseudonym, computed once per patron
    of the file. A row keyed by card keeps the card (dbt resolves it through
    ``identity.cards``), which must be one a patron held on the file's day."""

    def __init__(self, entity: Entity, secret: bytes, cards: frozenset[str], day: date) -> None:
        self._column, self._by_card = entity.key, entity.key_is_card
        self._secret, self._cards, self._day = secret, cards, day
        self._known: dict[str, str] = {}

    def of(self, keys: Sequence[str]) -> list[str] | None:
        """The ``user_key`` of each patron id of ``keys``; None for cards, once each is known.

        Raises
        ------
        RowError
            Naming the first card of ``keys`` that no patron held on the file's day.
        """
        if self._by_card:
            if not self._cards.issuperset(keys):
                unknown = next(card for card in keys if card not in self._cards)
                raise RowError(
                    f"{self._column} '{unknown}' is not a card any patron held on {self._day} "
                    "in the ILS patrons.csv exports loaded so far: check the card in the ILS; "
                    "a patron missing from its export must be added there and delivered in a "
                    "later patrons.csv (this row stays quarantined)"
                )
            return None
        known = self._known
        for patron in set(keys).difference(known):
            known[patron] = user_key(self._secret, patron)
        return list(map(known.__getitem__, keys))
