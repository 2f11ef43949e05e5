"""A newsletter's state between editions (table newsletter-state, key: newsletter name)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from hub.model.records import Record


class CurrentCuration(BaseModel):
    """The editors' choices for the next edition, as the curation records left them."""

    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    pinned: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    order: tuple[str, ...] = ()
    intro: dict[str, str] = Field(default_factory=dict)


class NewsletterState(Record):
    """Items waiting for the next edition (by event id), its curation, the editions sent.

    Folded from the newsletter topic by hub.newsletters.state; never changed in place.
    """

    record_name: ClassVar[str] = "newsletter state"

    pending: dict[str, dict[str, JsonValue]] = Field(default_factory=dict)
    curation: CurrentCuration = Field(default_factory=CurrentCuration)
    editions: tuple[str, ...] = ()

    @classmethod
    def stored(cls, value: object) -> NewsletterState:
        """The state kept in the table: a newsletter with no record yet has the empty state.

        Raises BadRecord for a stored value that does not read as a state.
        """
        return cls() if value is None else cls.parse(value)


class KeptNewsletterState(Record):
    """A newsletter's state as its table keeps it: the waiting items by id alone, in the order
    they came, each item's document under a key of its own in the newsletter-items table.

    One item more then rewrites a list of ids, not every waiting document. `pending` holds
    whole documents in states stored before items were kept apart; they are still read.
    """

    record_name: ClassVar[str] = "newsletter state"

    waiting: tuple[str, ...] = ()
    pending: dict[str, dict[str, JsonValue]] = Field(default_factory=dict)
    curation: CurrentCuration = Field(default_factory=CurrentCuration)
    editions: tuple[str, ...] = ()

    @classmethod
    def stored(cls, value: object) -> KeptNewsletterState:
        """The kept state, empty for a newsletter with no record yet; BadRecord if unreadable."""
        return cls() if value is None else cls.parse(value)
