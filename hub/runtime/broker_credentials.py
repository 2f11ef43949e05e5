"""Faust's own clients reach a secured cluster as the hub's aiokafka clients do."""

from __future__ import annotations

from faust.auth import SASLCredentials, SSLCredentials
from faust.types.auth import CredentialsT

from hub.kafka.security import ssl_context
from hub.settings import KafkaSettings


def broker_credentials(settings: KafkaSettings) -> CredentialsT | None:
    """The same connection for Faust's own clients (its broker_credentials setting)."""
    context = ssl_context(settings)
    if settings.security_protocol.startswith("SASL_"):
        assert settings.sasl_password is not None
        return SASLCredentials(
            username=settings.sasl_username,
            password=settings.sasl_password.get_secret_value(),
            mechanism=settings.sasl_mechanism,
            ssl_context=context,  # None: SASL_PLAINTEXT
        )
    if context is not None:
        return SSLCredentials(context)
    return None
