"""Benchmark: rendering an email once per (event, language) and personalising it per recipient,
against rendering it again for every recipient. Prints per-message costs and their ratio."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from channels.email.channel import EmailChannel
from hub.model.deliveries import ChannelKey, Delivery, PersonalLinks, Recipient
from hub.model.events import Event
from hub.rendering.environment import Renderer
from hub.settings import REPO_ROOT, SmtpSettings

RECIPIENTS = 2000
EXAMPLE = (
    REPO_ROOT / "schemas/examples/announcement.published.v1/valid/partnership-west-africa.json"
)


def deliveries(event: Event) -> list[Delivery]:
    return [
        Delivery(
            f"d{i}",
            event.id,
            ChannelKey.EMAIL,
            "fr",
            Recipient(f"r{i}", f"R {i}", f"r{i}@x.org"),
            links=PersonalLinks(f"https://h/p?{i}", f"https://h/u?{i}", f"mailto:u@h?subject={i}"),
        )
        for i in range(RECIPIENTS)
    ]


def per_message(label: str, run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    seconds = (time.perf_counter() - started) / RECIPIENTS
    print(f"{label:<38} {seconds * 1e6:8.1f} µs per message")
    return seconds


def main() -> None:
    event = Event.from_document(json.loads(Path(EXAMPLE).read_text()))
    channel = EmailChannel(SmtpSettings())
    targets = deliveries(event)
    templates = REPO_ROOT / "templates"

    def render_each() -> None:
        renderer = Renderer(templates)  # templates compiled once; only rendering repeats
        for delivery in targets:
            channel.build(renderer._render_uncached(event, "email", "fr"), delivery)

    def render_once() -> None:
        renderer = Renderer(templates)
        for delivery in targets:
            channel.build(renderer.render(event, "email", "fr"), delivery)

    each = per_message("render for every recipient + MIME", render_each)
    once = per_message("render once, personalise + MIME", render_once)
    print(f"ratio (every / once): {each / once:.2f}x faster with rendering once")


if __name__ == "__main__":
    main()
