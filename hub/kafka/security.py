"""Reaching a real cluster: TLS and SASL for every Kafka client, durability settings for topics."""

from __future__ import annotations

import ssl
from typing import Any

from aiokafka.helpers import create_ssl_context

from hub.settings import KafkaSettings


def bootstrap_servers(settings: KafkaSettings) -> str:
    """kafka://host:port[;kafka://host2:port] -> host:port,host2:port for aiokafka."""
    return ",".join(url.strip().removeprefix("kafka://") for url in settings.broker.split(";"))


def ssl_context(settings: KafkaSettings) -> ssl.SSLContext | None:
    """The TLS context for SSL and SASL_SSL: the cluster's CA (or the system's), a client
    certificate if one is configured. Missing or unreadable files raise OSError at start."""
    if settings.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    password = settings.ssl_key_password.get_secret_value() if settings.ssl_key_password else None
    context: ssl.SSLContext = create_ssl_context(
        cafile=settings.ssl_cafile,
        certfile=settings.ssl_certfile,
        keyfile=settings.ssl_keyfile,
        password=password,
    )
    context.check_hostname = settings.ssl_check_hostname
    return context


def client_options(settings: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments for every aiokafka client the hub makes (admin, consumers, producers)."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers(settings),
        "security_protocol": settings.security_protocol,
    }
    context = ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if settings.security_protocol.startswith("SASL_"):
        assert settings.sasl_password is not None  # the settings refuse SASL without one
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = settings.sasl_password.get_secret_value()
    return options


def topic_configs(settings: KafkaSettings) -> dict[str, str]:
    """Configuration every topic the hub creates carries: min.insync.replicas on a cluster.

    With acks=all, a write is acknowledged once this many replicas have it; below it the
    broker refuses writes (NotEnoughReplicas) rather than keep an event on one disk only.
    """
    replicas = settings.insync_replicas
    return {} if replicas is None else {"min.insync.replicas": str(replicas)}
