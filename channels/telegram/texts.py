"""What the Telegram bot says, in English, marked for the `telegram` catalogs (plain text)."""

from __future__ import annotations


def N_(message: str) -> str:
    """Marks a message for extraction (the `N_` keyword); it is translated when the bot replies."""
    return message


TOPIC_LABELS: dict[str, str] = {
    "announcement.published": N_("Institutional announcements"),
    "research.released": N_("Research releases"),
}

TEXT: dict[str, str] = {
    "help": N_(
        "I send you the Organization's news.\n\n/topics choose topics"
        "\n/language change language\n/subscribe receive news here"
        "\n/unsubscribe stop news here\n/stop unlink this chat"
    ),
    "start_without_link": N_(
        "To receive news here, open the Telegram link from your preference centre"
        " (the link at the bottom of our emails)."
    ),
    "not_linked": N_("This chat is not linked yet: open the Telegram link from your preferences."),
    "linked": N_("Welcome, {name}! You will receive our news here. /topics to choose topics."),
    "subscribed": N_("You will receive our news here."),
    "stopped": N_("You will not receive news here any more. /subscribe to start again."),
    "topics": N_("Tap a topic to follow or unfollow it:"),
    "language": N_("Choose your language:"),
    "language_set": N_("Language set to {language}."),
}
