"""Kafka settings for real clusters: min.insync.replicas on every topic the hub creates, and TLS
and SASL mapped into Faust's credentials and every aiokafka client. No cluster is needed to check
the mapping; the last test proves on the real broker that topic settings reach it."""

from __future__ import annotations

import ssl
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from pydantic import ValidationError

from hub.cli.main import EXIT_UNAVAILABLE, main
from hub.kafka.admin import ensure_topics
from hub.kafka.security import client_options, topic_configs
from hub.runtime.app import create_faust_app
from hub.runtime.broker_credentials import broker_credentials
from hub.settings import KafkaSettings, Settings

TLS = Path(__file__).parent / "data" / "kafka-tls"
SECRET = "s3cret-password-never-printed"


# TLS with a client certificate instead of SASL.
CLIENT_CERTIFICATE: dict[str, Any] = {
    "security_protocol": "SSL",
    "sasl_username": None,
    "sasl_password": None,
    "ssl_certfile": TLS / "client.pem",
    "ssl_keyfile": TLS / "client.key",
    "ssl_key_password": "test-key-password",
}


def managed(**changes: Any) -> KafkaSettings:
    """A managed cluster: three brokers, SASL/SCRAM over TLS with the cluster's own CA."""
    fields: dict[str, Any] = {
        "broker": "kafka://b1.example.net:9096;kafka://b2.example.net:9096",
        "replication_factor": 3,
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_username": "hub",
        "sasl_password": SECRET,
        "ssl_cafile": TLS / "ca.pem",
    }
    return KafkaSettings(**{**fields, **changes})


@pytest.mark.parametrize(
    ("replication", "explicit", "expected"),
    [
        (1, None, {}),
        (2, None, {"min.insync.replicas": "2"}),
        (3, None, {"min.insync.replicas": "2"}),
        (5, 3, {"min.insync.replicas": "3"}),
        (1, 1, {"min.insync.replicas": "1"}),
    ],
)
def test_min_insync_replicas_is_set_on_a_cluster(
    replication: int, explicit: int | None, expected: dict[str, str]
) -> None:
    settings = KafkaSettings(replication_factor=replication, min_insync_replicas=explicit)
    assert topic_configs(settings) == expected


def test_faust_creates_its_own_topics_with_the_same_settings() -> None:
    app = create_faust_app(Settings(kafka=managed(), app_id="cfg-test"))
    table = app.Table("cfg-test-ledger", default=None)
    assert table.changelog_topic.config["min.insync.replicas"] == "2"
    assert app.topic("t", config={"retention.ms": "-1"}).config == {
        "min.insync.replicas": "2",
        "retention.ms": "-1",
    }
    assert app.conf.topic_replication_factor == 3


def test_sasl_over_tls_reaches_faust_and_every_aiokafka_client() -> None:
    settings = managed()
    options = client_options(settings)
    assert options["bootstrap_servers"] == "b1.example.net:9096,b2.example.net:9096"
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("hub", SECRET)
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname and context.verify_mode is ssl.CERT_REQUIRED
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "Test Kafka CA"),),)]
    # Faust's own clients get the same, through its broker_credentials.
    app = create_faust_app(Settings(kafka=settings, app_id="cfg-test"))
    faust_side = credentials_to_aiokafka_auth(app.conf.broker_credentials)
    assert {k: v for k, v in faust_side.items() if k != "ssl_context"} == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "hub",
        "sasl_plain_password": SECRET,
    }
    assert faust_side["ssl_context"].get_ca_certs() == context.get_ca_certs()


async def test_aiokafka_clients_accept_the_options_as_built() -> None:
    for settings in (
        managed(),
        managed(sasl_mechanism="SCRAM-SHA-256"),
        managed(security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN", ssl_cafile=None),
        managed(**CLIENT_CERTIFICATE),
    ):
        options = client_options(settings)
        # aiokafka checks protocol, mechanism and credentials when a client is made.
        producer = AIOKafkaProducer(**options)
        consumer = AIOKafkaConsumer(**options)
        admin = AIOKafkaAdminClient(**options)
        assert producer.client._security_protocol == settings.security_protocol
        assert consumer._client._security_protocol == settings.security_protocol
        assert admin._client._security_protocol == settings.security_protocol
        await producer.stop()
        await consumer.stop()
        await admin.close()


def test_tls_with_a_client_certificate_is_ssl_credentials_for_faust() -> None:
    settings = managed(**CLIENT_CERTIFICATE)
    options = client_options(settings)
    assert options["security_protocol"] == "SSL" and "sasl_mechanism" not in options
    faust_side = credentials_to_aiokafka_auth(broker_credentials(settings))
    assert faust_side["security_protocol"] == "SSL"
    assert isinstance(faust_side["ssl_context"], ssl.SSLContext)


def test_plaintext_by_default_and_no_credentials_for_faust() -> None:
    settings = KafkaSettings()
    assert client_options(settings) == {
        "bootstrap_servers": "127.0.0.1:9092",
        "security_protocol": "PLAINTEXT",
    }
    assert broker_credentials(settings) is None


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"sasl_password": None}, "SASL_SSL needs sasl_username and sasl_password"),
        ({"security_protocol": "SSL"}, "sasl_username/sasl_password are set"),
        (
            {"security_protocol": "PLAINTEXT", "sasl_username": None, "sasl_password": None},
            "ssl_* settings are set but security_protocol is PLAINTEXT",
        ),
        ({"ssl_keyfile": TLS / "client.key"}, "ssl_keyfile needs ssl_certfile"),
        ({"min_insync_replicas": 4}, "min_insync_replicas (4) is more than replication_factor"),
        ({"sasl_mechanism": "GSSAPI"}, "sasl_mechanism"),
    ],
)
def test_inconsistent_settings_are_refused_with_the_reason(
    changes: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        managed(**changes)
    assert problem in str(refused.value)


def test_the_cli_names_a_bad_setting_without_printing_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HUB_KAFKA__SECURITY_PROTOCOL", "PLAINTEXT")
    monkeypatch.setenv("HUB_KAFKA__SASL_USERNAME", "hub")
    monkeypatch.setenv("HUB_KAFKA__SASL_PASSWORD", SECRET)
    assert main(["validate", "-"]) == EXIT_UNAVAILABLE
    err = capsys.readouterr().err
    assert "HUB_KAFKA" in err and "use SASL_SSL" in err
    assert SECRET not in err


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_KAFKA__SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("HUB_KAFKA__SASL_MECHANISM", "SCRAM-SHA-256")
    monkeypatch.setenv("HUB_KAFKA__SASL_USERNAME", "hub")
    monkeypatch.setenv("HUB_KAFKA__SASL_PASSWORD", SECRET)
    monkeypatch.setenv("HUB_KAFKA__SSL_CAFILE", str(TLS / "ca.pem"))
    monkeypatch.setenv("HUB_KAFKA__REPLICATION_FACTOR", "3")
    kafka = Settings().kafka
    assert client_options(kafka)["sasl_mechanism"] == "SCRAM-SHA-256"
    assert topic_configs(kafka) == {"min.insync.replicas": "2"}
    assert SECRET not in repr(kafka)


@pytest.mark.kafka
async def test_topics_the_hub_creates_carry_min_insync_replicas(kafka_broker: str) -> None:
    # One broker allows a replication factor of 1 only; an explicit setting still shows that
    # the hub's topic settings reach the broker as topic overrides.
    settings = KafkaSettings(broker=f"kafka://{kafka_broker}", min_insync_replicas=1)
    name = f"cfg-{uuid.uuid4().hex[:10]}.events.v1"
    await ensure_topics(settings, [name], {"retention.ms": "-1"})
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        (response,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
        entries = {e[0]: e for e in response.resources[0][4]}
        await admin.delete_topics([name])
    finally:
        await admin.close()
    assert entries["min.insync.replicas"][1] == "1"
    assert entries["retention.ms"][1] == "-1"
    # (name, value, read_only, config_source, ...): 1 is DYNAMIC_TOPIC_CONFIG, set on the topic;
    # 5 is DEFAULT_CONFIG, what a setting the hub leaves alone shows.
    assert entries["min.insync.replicas"][3] == 1
    assert entries["segment.bytes"][3] == 5
