"""Signed links in every email (preferences, one-click unsubscribe) naming the reader's language."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote

from hub.model.deliveries import PersonalLinks
from hub.model.subscribers import Subscriber
from hub.subscribers.tokens import Purpose, Signer

# Templates render markers once per (event, language); each email gets its own links in their
# place. Each rendering has markers of its own, with a random nonce chosen after the content was
# known, so no event title or body can hold a marker that would be replaced by a link. Renderings
# on the topics from before the nonce (no nonce) used these fixed ones.
PREFERENCES_MARK = "__HUB_PREFERENCES_URL__"
UNSUBSCRIBE_MARK = "__HUB_UNSUBSCRIBE_URL__"


def new_nonce() -> str:
    return secrets.token_hex(16)


def link_marks(nonce: str) -> tuple[str, str]:
    """The (preferences, unsubscribe) markers of a rendering with this nonce."""
    if not nonce:
        return PREFERENCES_MARK, UNSUBSCRIBE_MARK
    return f"__HUB_{nonce}_PREFERENCES__", f"__HUB_{nonce}_UNSUBSCRIBE__"


class LinkMaker:
    """Builds a recipient's links from the public URL and the signing key."""

    def __init__(
        self, signer: Signer, public_url: str, mail_domain: str, clock: Callable[[], datetime]
    ) -> None:
        self.signer = signer
        self.base = public_url.rstrip("/")
        self.mail_domain = mail_domain
        self.clock = clock

    def for_subscriber(self, subscriber_id: str, language: str | None = None) -> PersonalLinks:
        """The person's links; with their language, the pages they open speak it."""
        now = self.clock()
        preferences = self.signer.issue(subscriber_id, Purpose.PREFERENCES, now, language=language)
        unsubscribe = self.signer.issue(subscriber_id, Purpose.UNSUBSCRIBE, now, language=language)
        subject = quote(f"unsubscribe {unsubscribe}")
        return PersonalLinks(
            preferences=f"{self.base}/preferences?t={preferences}",
            unsubscribe=f"{self.base}/unsubscribe?t={unsubscribe}",
            unsubscribe_mailto=f"mailto:unsubscribe@{self.mail_domain}?subject={subject}",
        )

    def confirmation(self, subscriber_id: str, nonce: str, language: str | None = None) -> str:
        token = self.signer.issue(
            subscriber_id, Purpose.CONFIRM, self.clock(), nonce=nonce, language=language
        )
        return f"{self.base}/subscribe/confirm?t={token}"

    def knowing(self, find: Callable[[str], Subscriber | None]) -> Callable[[str], PersonalLinks]:
        """`for_subscriber` for code that has only the id: the language is looked up with
        `find` (the directory's), so the pages the links open speak it too."""

        def links(subscriber_id: str) -> PersonalLinks:
            subscriber = find(subscriber_id)
            return self.for_subscriber(
                subscriber_id, subscriber.language if subscriber is not None else None
            )

        return links
