"""The email channel through an SMTP relay that wants TLS and a password, as a real provider does:
STARTTLS on a plain port with AUTH (PLAIN or LOGIN) allowed only once encrypted, and implicit TLS
(SMTPS). The relay is aiosmtpd with a certificate made here by a CA made here; every email goes
through the hub's own channel and pool, and the relay records who logged in and over what."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import SecretStr, ValidationError

from channels.email.channel import EmailChannel
from devstack.mailcatcher import OutboxHandler
from hub.errors import ConfigurationError, TransientDeliveryError
from hub.planning.routing import plan
from hub.rendering.environment import Renderer
from hub.settings import REPO_ROOT, SmtpSettings
from tests.conftest import free_port, read_outbox
from tests.helpers import event, subscriber

# When the relay refuses a login, aiosmtplib drops the TLS connection itself, and TLS finishes
# closing (close_notify) a few turns of the event loop later; a test whose loop ends at that
# moment sees the socket collected half-closed. That is the test's loop stopping, not a leak
# of the hub's (a worker's loop goes on), so the warning it raises is not a failure here.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

RENDERER = Renderer(REPO_ROOT / "templates")
USER = "hub-relay-user"
PASSWORD = "correct horse battery staple"


# --- certificates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Authority:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    path: Path  # the CA certificate, PEM: what HUB_SMTP__CA_FILE names


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_authority(directory: Path, common: str) -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(_name(common))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    path = directory / f"{common}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Authority(key, cert, path)


LOCAL_NAMES: tuple[x509.GeneralName, ...] = (
    x509.DNSName("localhost"),
    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
)


def server_context(
    directory: Path, ca: Authority, names: tuple[x509.GeneralName, ...] = LOCAL_NAMES
) -> ssl.SSLContext:
    """The relay's TLS: a certificate for `names` (localhost and 127.0.0.1), issued by `ca`."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(list(names)),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
        .sign(ca.key, hashes.SHA256())
    )
    cert_path, key_path = directory / "relay.pem", directory / "relay.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


# --- the relay ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    user: str | None  # who authenticated the session
    tls: bool  # the session was encrypted when the message came
    mechanism: str | None


class RelayHandler(OutboxHandler):
    """The mail catcher's handler, refusing mail from a session that did not log in, and
    recording each message's session: its user, whether it was TLS, the AUTH mechanism."""

    def __init__(self, outbox: Path) -> None:
        super().__init__(outbox)
        self.received: list[Received] = []
        self.mechanisms: list[str] = []
        self.failed_logins = 0

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        good = (
            isinstance(data, LoginPassword)
            and data.login == USER.encode()
            and data.password == PASSWORD.encode()
        )
        if not good:
            self.failed_logins += 1
            return AuthResult(success=False, handled=False)
        self.mechanisms.append(mechanism)
        return AuthResult(success=True, auth_data=(USER, mechanism))

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not session.authenticated:  # SMTPS: aiosmtpd's own check knows only STARTTLS
            return "530 5.7.0 Authentication required"
        return await super().handle_MAIL(server, session, envelope, address, options)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        auth = session.auth_data if session.authenticated else None
        user, mechanism = auth if isinstance(auth, tuple) else (None, None)
        transport = server.transport  # the TLS transport once STARTTLS is done
        tls = transport is not None and transport.get_extra_info("ssl_object") is not None
        self.received.append(Received(user, tls, mechanism))
        return await super().handle_DATA(server, session, envelope)


@dataclass
class Relay:
    handler: RelayHandler
    port: int
    ca: Authority


@contextlib.contextmanager
def running_relay(
    directory: Path,
    *,
    implicit: bool,
    mechanisms: tuple[str, ...] = ("PLAIN", "LOGIN"),
    names: tuple[x509.GeneralName, ...] = LOCAL_NAMES,
) -> Iterator[Relay]:
    directory.mkdir()
    ca = make_authority(directory, "relay-ca")
    context = server_context(directory, ca, names)
    handler = RelayHandler(directory / "outbox")
    port = free_port()
    excluded = [m for m in ("PLAIN", "LOGIN") if m not in mechanisms]
    common: dict[str, Any] = {
        "hostname": "127.0.0.1",
        "port": port,
        "authenticator": handler.authenticate,
        "auth_exclude_mechanism": excluded,
    }
    if implicit:
        # TLS from the first byte; aiosmtpd's auth_require_tls only knows STARTTLS, so the
        # handler refuses MAIL from a session that has not logged in instead.
        controller = Controller(handler, ssl_context=context, auth_require_tls=False, **common)
    else:
        controller = Controller(
            handler,
            tls_context=context,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            **common,
        )
    controller.start()
    try:
        yield Relay(handler, port, ca)
    finally:
        controller.stop()


@pytest.fixture(params=["PLAIN", "LOGIN"])
def starttls_relay(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Relay]:
    """Port 587's kind: plain at first, STARTTLS required, then AUTH with one mechanism."""
    with running_relay(tmp_path / "starttls", implicit=False, mechanisms=(request.param,)) as relay:
        yield relay


@pytest.fixture
def smtps_relay(tmp_path: Path) -> Iterator[Relay]:
    """Port 465's kind: TLS from the first byte."""
    with running_relay(tmp_path / "smtps", implicit=True) as relay:
        yield relay


async def send_one(settings: SmtpSettings) -> None:
    news = event()
    (delivery,) = plan(news, [subscriber("camille", language="fr")])
    channel = EmailChannel(settings)
    try:
        await channel.send(RENDERER.render(news, "email", "fr"), delivery)
    finally:
        await channel.close()


def settings_for(relay: Relay, **overrides: Any) -> SmtpSettings:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": relay.port,
        "username": USER,
        "password": SecretStr(PASSWORD),
        "ca_file": relay.ca.path,
        "timeout": 5,
        **overrides,
    }
    return SmtpSettings(**values)


# --- delivery over TLS with a password ----------------------------------------------------------


async def test_starttls_then_auth_delivers_through_the_channel(starttls_relay: Relay) -> None:
    await send_one(settings_for(starttls_relay, start_tls=True))
    handler = starttls_relay.handler
    (mechanism,) = handler.mechanisms
    assert handler.received == [Received(USER, True, mechanism)]
    (message,) = read_outbox(handler.outbox)
    assert message["Subject"] == event().content["fr"].title


async def test_implicit_tls_with_auth_delivers_through_the_channel(smtps_relay: Relay) -> None:
    await send_one(settings_for(smtps_relay, use_tls=True))
    handler = smtps_relay.handler
    assert [(r.user, r.tls) for r in handler.received] == [(USER, True)]
    assert len(read_outbox(handler.outbox)) == 1


async def test_a_wrong_password_is_a_clear_configuration_error(starttls_relay: Relay) -> None:
    settings = settings_for(starttls_relay, start_tls=True, password=SecretStr("wrong"))
    with pytest.raises(ConfigurationError, match=r"refused the credentials .*535") as caught:
        await send_one(settings)
    assert "wrong" not in str(caught.value)  # the password is never in the reason
    assert starttls_relay.handler.failed_logins >= 1
    assert starttls_relay.handler.received == []


async def test_without_tls_the_relay_offers_no_auth_and_nothing_is_sent(
    starttls_relay: Relay,
) -> None:
    with pytest.raises(TransientDeliveryError, match="AUTH"):
        await send_one(settings_for(starttls_relay, ca_file=None))
    assert starttls_relay.handler.received == []


@pytest.mark.parametrize("mode", ["start_tls", "use_tls"])
async def test_an_untrusted_certificate_is_refused(tmp_path: Path, mode: str) -> None:
    # The system's CAs (no CA file), then another CA than the relay's: neither trusts it.
    other = make_authority(tmp_path, "another-ca")
    with running_relay(tmp_path / "relay", implicit=mode == "use_tls") as relay:
        for ca_file in (None, other.path):
            settings = settings_for(relay, ca_file=ca_file, **{mode: True})
            with pytest.raises(
                ConfigurationError, match=r"certificate was refused.*HUB_SMTP__CA_FILE"
            ):
                await send_one(settings)
        assert relay.handler.received == []
        assert relay.handler.mechanisms == []  # the password never went out


async def test_a_certificate_for_another_name_is_refused(tmp_path: Path) -> None:
    # Issued by the trusted CA, but for another host than the one the hub was told to reach.
    names = (x509.DNSName("relay.example.org"),)
    with running_relay(tmp_path / "relay", implicit=False, names=names) as relay:
        with pytest.raises(ConfigurationError, match="certificate was refused"):
            await send_one(settings_for(relay, start_tls=True))
        assert relay.handler.received == []


def test_a_missing_ca_file_is_refused_when_the_channel_is_made(tmp_path: Path) -> None:
    settings = SmtpSettings(start_tls=True, ca_file=tmp_path / "nowhere.pem")
    with pytest.raises(ConfigurationError, match="HUB_SMTP__CA_FILE"):
        EmailChannel(settings)


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"start_tls": True, "use_tls": True}, "exclude each other"),
        ({"password": "p"}, "password is set without username"),
        ({"ca_file": "ca.pem"}, "neither start_tls nor use_tls"),
    ],
)
def test_tls_settings_that_cannot_work_are_refused(values: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        SmtpSettings(**values)


def test_tls_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from hub.settings import Settings

    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    for name, value in {
        "HUB_SMTP__START_TLS": "true",
        "HUB_SMTP__USERNAME": USER,
        "HUB_SMTP__PASSWORD": PASSWORD,
        "HUB_SMTP__CA_FILE": str(tmp_path / "ca.pem"),
    }.items():
        monkeypatch.setenv(name, value)
    smtp = Settings().smtp
    assert smtp.start_tls and not smtp.use_tls
    assert smtp.username == USER
    assert smtp.password is not None and smtp.password.get_secret_value() == PASSWORD
    assert smtp.ca_file == tmp_path / "ca.pem"
