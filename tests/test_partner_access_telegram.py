"""Partner access on Telegram: linked chats and broadcast channels on the Bot API sandbox follow
the same rule as email."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from devstack.mailcatcher import MailCatcher
from tests.conftest import free_port
from tests.hubprocess import HubProcess
from tests.partnerworld import (
    PARTNERS,
    fanned_out,
    got,
    publish,
)
from tests.sandboxprocess import SandboxProcess

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(420)]


def test_telegram_carries_partner_items_to_partners_only(kafka_broker: str, tmp_path: Path) -> None:
    """Linked chats and broadcast channels on the Bot API sandbox follow the same rule."""
    people = [
        {
            "id": "by-domain",
            "kind": "public",
            "name": "Moussa",
            "language": "en",
            "email": "moussa@sahel-ngo.org",
            "telegram_chat_id": 71001,
            "subscriptions": [{"channels": ["email", "telegram"]}],
        },
        {
            "id": "typed-org",
            "kind": "partner",  # claimed, not granted
            "name": "Tess",
            "language": "en",
            "email": "tess@example.com",
            "organisation": "Sahel NGO",
            "telegram_chat_id": 71002,
            "subscriptions": [{"channels": ["email", "telegram"]}],
        },
    ]
    (tmp_path / "people.yaml").write_text(yaml.safe_dump({"subscribers": people}), "utf-8")
    (tmp_path / "partners.yaml").write_text(yaml.safe_dump({"partners": PARTNERS}), "utf-8")
    public_channel = "-7009"
    sandbox = SandboxProcess(tmp_path)
    try:
        with MailCatcher(tmp_path / "outbox", port=free_port()) as catcher:
            hub = HubProcess(
                tmp_path,
                catcher.controller.port,
                tmp_path / "people.yaml",
                tmp_path / "partners.yaml",
                HUB_TELEGRAM__PUBLIC_CHANNELS=json.dumps([public_channel]),
                **sandbox.hub_env,
            ).start()
            try:
                secret = publish(hub, "Partners only: Telegram briefing", "partners")
                assert fanned_out(hub, secret)["sent"] == 2  # email and Telegram, one person
                opened = publish(hub, "Open to all: Telegram notice", "public")
                assert fanned_out(hub, opened)["sent"] == 5  # 2 people x 2 channels + channel

                def texts(chat: int | str) -> str:
                    return " ".join(m["message"].get("text", "") for m in sandbox.messages(chat))

                assert "Telegram briefing" in texts(71001) and "Telegram notice" in texts(71001)
                assert "Telegram notice" in texts(71002) and "briefing" not in texts(71002)
                assert "Telegram notice" in texts(public_channel)
                assert "briefing" not in texts(public_channel)
                assert not got(catcher.outbox, "tess@example.com", secret)
            finally:
                hub.stop()
    finally:
        sandbox.stop()
