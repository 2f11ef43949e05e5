"""The value codec of the delivery, retry and dead-letter topics: JSON with personal fields sealed.

Every write to those topics goes through `seal_value` and every read through `open_value`, so the
agents and the dispatcher see plain messages while Kafka only ever holds sealed ones.
"""

from __future__ import annotations

import json
from typing import Any

from faust.serializers.codecs import Codec

from hub.privacy.sealing import Keys, open_value, sealed_json


class SealingCodec(Codec):
    """JSON with delivery messages sealed with their recipient's key (hub.privacy.sealing)."""

    def __init__(self, keys: Keys) -> None:
        super().__init__()
        self.keys = keys

    def _dumps(self, s: Any) -> bytes:
        return sealed_json(s, self.keys)  # JSON, as Faust's json codec writes every other topic

    def _loads(self, s: bytes) -> Any:
        return open_value(json.loads(s), self.keys)
