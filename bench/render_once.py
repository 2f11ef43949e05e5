"""Benchmark: one email per recipient, built three ways, side by side in one run.

before: every recipient's email rendered by Jinja, built as an EmailMessage and flattened;
cached: rendered once per (event, language), still built and flattened per recipient;
patched: rendered once, pre-built once, each recipient's headers and links patched into the bytes
(what the email channel does). Prints the cost per message and the ratios.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from channels.email.channel import EmailChannel
from channels.email.mime import build_message, wire_bytes
from hub.model.deliveries import ChannelKey, Delivery, PersonalLinks, Recipient
from hub.model.events import Event
from hub.rendering.environment import Renderer
from hub.settings import REPO_ROOT, SmtpSettings

RECIPIENTS = 2000
EXAMPLE = (
    REPO_ROOT / "schemas/examples/announcement.published.v1/valid/partnership-west-africa.json"
)
SIGNED = "eyJzIjoiZXh0LTAxMjM0NTY3ODlhYmNkZWYwMTIzIiwiZSI6MTgwMzUxMzYwMCwibiI6IlJuaV9VLW4tRFlRIn0"


def deliveries(event: Event, names: Callable[[int], str]) -> list[Delivery]:
    """Recipients with links as long as real signed ones (the List-Unsubscribe line is long)."""
    base = "https://hub.example.org"
    return [
        Delivery(
            f"{i:032x}",
            event.id,
            ChannelKey.EMAIL,
            "fr",
            Recipient(f"r{i}", names(i), f"r{i}@example.org"),
            links=PersonalLinks(
                f"{base}/preferences?t={SIGNED}.{i:027d}",
                f"{base}/unsubscribe?t={SIGNED}.{i:027d}",
                f"mailto:unsubscribe@hub.example.org?subject=unsubscribe%20{SIGNED}.{i:027d}",
            ),
        )
        for i in range(RECIPIENTS)
    ]


def per_message(label: str, run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    seconds = (time.perf_counter() - started) / RECIPIENTS
    print(f"{label:<52} {seconds * 1e6:9.1f} µs per message")
    return seconds


def main() -> None:
    event = Event.from_document(json.loads(Path(EXAMPLE).read_text()))
    channel = EmailChannel(SmtpSettings())
    sender, domain = channel.sender, channel.message_id_domain
    templates = REPO_ROOT / "templates"
    renderer = Renderer(templates)  # templates compiled once; only rendering repeats
    plain = deliveries(event, lambda i: f"Recipient {i}")
    accented = deliveries(event, lambda i: f"Zoë Ñandú {i}")

    def before() -> None:
        for delivery in plain:
            rendered = renderer._render_uncached(event, "email", "fr")
            message = build_message(rendered, delivery, sender=sender, message_id_domain=domain)
            wire_bytes(message, utf8=False)

    def cached() -> None:
        for delivery in plain:
            rendered = renderer.render(event, "email", "fr")
            message = build_message(rendered, delivery, sender=sender, message_id_domain=domain)
            wire_bytes(message, utf8=False)

    def patched(targets: list[Delivery]) -> Callable[[], None]:
        def run() -> None:
            for delivery in targets:
                channel.build(renderer.render(event, "email", "fr"), delivery)

        return run

    each = per_message("before: render + build + flatten per recipient", before)
    once = per_message("render once, build + flatten per recipient", cached)
    fast = per_message("render once, pre-built, patched (ASCII names)", patched(plain))
    folded = per_message("render once, pre-built, patched (non-ASCII names)", patched(accented))
    print(f"ratio before / patched (ASCII names):     {each / fast:7.1f}x")
    print(f"ratio before / patched (non-ASCII names): {each / folded:7.1f}x")
    print(f"ratio cached render / patched:            {once / fast:7.1f}x")


if __name__ == "__main__":
    main()
