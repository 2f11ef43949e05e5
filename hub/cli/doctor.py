"""`hub doctor`: is this configuration one a worker can run with, and does each dependency answer?

One line per check, `ok` or `FAIL: what is wrong — what to do`; exit 0 when every check passes,
1 otherwise. Nothing is written anywhere: the broker is only asked for its metadata, the SMTP relay
for EHLO, NOOP and (with a username) a login, the Bot API for getMe.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import socket
import ssl
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from hub.settings import Settings

EXIT_FAILED = 1
DEFAULT_TIMEOUT_SECONDS = 5.0
# A signing key shorter than this is guessable (token_urlsafe(32) makes 43 characters).
SECRET_KEY_MIN_LENGTH = 32
NEW_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


@dataclass(frozen=True, slots=True)
class Check:
    """One check's result: `problem` empty when it passed."""

    name: str
    problem: str = ""
    fix: str = ""
    detail: str = ""  # said after `ok` (what was found)

    @property
    def ok(self) -> bool:
        return not self.problem

    def line(self, width: int = 12) -> str:
        if self.ok:
            return f"{self.name:<{width}} ok" + (f" ({self.detail})" if self.detail else "")
        fix = f" — {self.fix}" if self.fix else ""
        return f"{self.name:<{width}} FAIL: {self.problem}{fix}"


def passed(name: str, detail: str = "") -> Check:
    return Check(name, detail=detail)


def failed(name: str, problem: str, fix: str) -> Check:
    return Check(name, problem=problem, fix=fix)


# --- the configuration -------------------------------------------------------------------------


def check_secret_key(settings: Settings) -> Check:
    key = settings.secret_key.get_secret_value() if settings.secret_key else ""
    if not key:
        if settings.env == "development":
            return passed("secret key", "not set; HUB_ENV=development: links die at restart")
        return failed(
            "secret key",
            f"HUB_SECRET_KEY is not set (HUB_ENV={settings.env}): links in emails cannot be"
            " signed to outlive a restart",
            f"set HUB_SECRET_KEY to a long random value ({NEW_KEY}), the same for every worker",
        )
    if len(key) < SECRET_KEY_MIN_LENGTH and settings.env != "development":
        return failed(
            "secret key",
            f"HUB_SECRET_KEY has {len(key)} characters, fewer than {SECRET_KEY_MIN_LENGTH}:"
            " the links it signs could be forged",
            f"set a longer one ({NEW_KEY}) and keep the old one in HUB_OLD_SECRET_KEYS for a while",
        )
    return passed("secret key")


def check_public_url(settings: Settings) -> Check:
    url = settings.web.public_url
    fix = "set HUB_WEB__PUBLIC_URL to the address people reach the hub at, e.g. https://hub.example.org"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError when it is not a number
    except ValueError as exc:
        return failed("public url", f"HUB_WEB__PUBLIC_URL {url!r} is not a URL ({exc})", fix)
    if parts.scheme not in ("http", "https"):
        return failed(
            "public url",
            f"HUB_WEB__PUBLIC_URL {url!r} does not start with http:// or https://",
            fix,
        )
    if not parts.hostname:
        return failed("public url", f"HUB_WEB__PUBLIC_URL {url!r} names no host", fix)
    if parts.query or parts.fragment or parts.username or parts.password:
        return failed(
            "public url",
            f"HUB_WEB__PUBLIC_URL {url!r} has a query, a fragment or a login in it",
            "give only the scheme, the host, the port and any path prefix",
        )
    shown = f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port else "")
    return passed("public url", shown)


def check_schemas(settings: Settings) -> Check:
    from hub.intake.schemas import SchemaCatalog

    try:
        catalog = SchemaCatalog(settings.schemas_dir)
    except Exception as exc:
        return failed(
            "schemas",
            f"the event schemas in {settings.schemas_dir} cannot be loaded: {exc}",
            "point HUB_SCHEMAS_DIR at the schemas/ directory of this release",
        )
    return passed("schemas", f"{len(catalog.event_types)} event types")


def check_templates(settings: Settings) -> Check:
    base = settings.templates_dir
    fix = "point HUB_TEMPLATES_DIR at the templates/ directory of this release"
    if not base.is_dir():
        return failed("templates", f"{base} is not a directory", fix)
    channels = ["email"] + (["telegram"] if settings.telegram.enabled else [])
    needed = [base / "_layouts", base / "_system", *(base / "_default" / c for c in channels)]
    missing = [str(path.relative_to(base)) for path in needed if not path.is_dir()]
    if missing:
        return failed("templates", f"{base} lacks {', '.join(missing)}", fix)
    return passed("templates")


def check_languages(settings: Settings) -> Check:
    from hub.i18n.catalogs import LOCALE_FOLDER, CatalogError, Catalogs
    from hub.i18n.languages import LanguageError

    try:
        languages = settings.spoken()
    except LanguageError as exc:
        return failed(
            "languages",
            str(exc),
            "correct HUB_LANGUAGES__SUPPORTED, HUB_LANGUAGES__FALLBACKS or HUB_DEFAULT_LANGUAGE",
        )
    try:
        Catalogs(settings.templates_dir / LOCALE_FOLDER, languages)
    except CatalogError as exc:
        return failed(
            "languages",
            str(exc),
            "take the language out of HUB_LANGUAGES__SUPPORTED, or translate it"
            " (make catalog LANG=xx, then make catalogs)",
        )
    return passed("languages", ", ".join(languages.supported))


def check_newsletters(settings: Settings) -> Check:
    from hub.newsletters.config import load_newsletters

    path = settings.newsletters_file
    try:
        found = load_newsletters(path)
    except Exception as exc:
        return failed(
            "newsletters",
            f"{path} cannot be read: {exc}",
            "correct the file or point HUB_NEWSLETTERS_FILE at another",
        )
    return passed("newsletters", f"{len(found)} defined")


def configuration_checks(settings: Settings) -> list[Check]:
    return [
        check_secret_key(settings),
        check_public_url(settings),
        check_schemas(settings),
        check_templates(settings),
        check_languages(settings),
        check_newsletters(settings),
    ]


# --- the dependencies --------------------------------------------------------------------------


async def check_kafka(settings: Settings, within: float) -> Check:
    """A bootstrap of a plain Kafka client: some broker of HUB_KAFKA__BROKER answers metadata."""
    from aiokafka import AIOKafkaClient

    from hub.kafka.security import bootstrap_servers, client_options

    brokers = bootstrap_servers(settings.kafka)
    fix = (
        "start the broker (make kafka-start for the local one) or set HUB_KAFKA__BROKER"
        " to where it runs"
    )
    try:
        unknown = await asyncio.wait_for(_unresolved(brokers), within)
    except TimeoutError:  # a slow resolver: the bootstrap below says what it finds
        unknown = []
    if unknown:
        return failed(
            "kafka",
            f"the broker address {', '.join(unknown)} does not resolve to any host",
            "correct HUB_KAFKA__BROKER (kafka://host:port, ;-separated)",
        )
    try:
        options = client_options(settings.kafka)
    except OSError as exc:  # a TLS file that cannot be read
        return failed("kafka", f"the Kafka TLS settings cannot be used: {exc}", "correct them")
    client = AIOKafkaClient(request_timeout_ms=int(within * 1000), **options)
    # aiokafka logs each refused connection as an error: the check's own line says it better.
    kafka_log = logging.getLogger("aiokafka")
    kept_level = kafka_log.level
    kafka_log.setLevel(logging.CRITICAL)
    try:
        await asyncio.wait_for(client.bootstrap(), within)
        count = len(client.cluster.brokers())
    except TimeoutError:
        return failed("kafka", f"no Kafka broker answered at {brokers} within {within:g} s", fix)
    except Exception as exc:  # aiokafka's KafkaConnectionError, an SASL refusal, ...
        return failed("kafka", f"no Kafka broker answered at {brokers} ({_kafka_reason(exc)})", fix)
    finally:
        with contextlib.suppress(Exception):
            await client.close()
        kafka_log.setLevel(kept_level)
    return passed("kafka", f"{brokers}, {count} broker(s)")


async def _unresolved(brokers: str) -> list[str]:
    """The brokers (host:port, comma-separated) whose host name does not resolve."""
    unknown = []
    for broker in brokers.split(","):
        host, _, port = broker.strip().rpartition(":")
        try:
            await asyncio.to_thread(socket.getaddrinfo, host.strip("[]"), port or None)
        except (socket.gaierror, UnicodeError):
            unknown.append(broker.strip())
    return unknown


def _kafka_reason(exc: BaseException) -> str:
    text = str(exc)
    if "Unable to bootstrap" in text:
        return "nothing listening, or the connection was refused"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def check_smtp(settings: Settings, within: float) -> Check:
    """EHLO (and STARTTLS or TLS as configured), a login when a username is set, NOOP."""
    import aiosmtplib

    s = settings.smtp
    where = f"{s.host}:{s.port}"
    if s.username and s.password is None:
        return failed(
            "smtp",
            "HUB_SMTP__USERNAME is set but HUB_SMTP__PASSWORD is not",
            "set the password, or unset the username if the relay needs no login",
        )
    from channels.email.pool import tls_context
    from hub.errors import ConfigurationError

    try:
        tls = tls_context(s)
    except ConfigurationError as exc:
        return failed("smtp", str(exc), "point HUB_SMTP__CA_FILE at a readable PEM file")
    client = aiosmtplib.SMTP(
        hostname=s.host,
        port=s.port,
        start_tls=s.start_tls,
        use_tls=s.use_tls,
        tls_context=tls,
        timeout=within,
    )
    try:
        await client.connect()
        if s.username and s.password is not None:
            await client.login(s.username, s.password.get_secret_value())
        await client.noop()
    except Exception as exc:
        return _smtp_failure(exc, settings, within)
    finally:
        await _quit_smtp(client)
    return passed("smtp", where + (f", logged in as {s.username}" if s.username else ""))


def _smtp_failure(exc: Exception, settings: Settings, within: float) -> Check:
    """What went wrong with the relay, in plain words, and what to do about it."""
    import aiosmtplib

    s = settings.smtp
    where = f"{s.host}:{s.port}"
    reach = "start the relay, or set HUB_SMTP__HOST and HUB_SMTP__PORT to where it runs"
    untrusted = _in_chain(exc, ssl.SSLCertVerificationError)
    if untrusted is not None:
        reason = getattr(untrusted, "verify_message", "") or str(untrusted)
        return failed(
            "smtp",
            f"the SMTP server at {where} showed a TLS certificate that is not trusted ({reason})",
            "for a private relay, give its CA certificate in HUB_SMTP__CA_FILE",
        )
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return failed(
            "smtp",
            f"the SMTP server refused the username or password for {s.username}@{s.host}"
            f" ({exc.code})",
            "check HUB_SMTP__USERNAME and HUB_SMTP__PASSWORD",
        )
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return failed(
            "smtp", f"the SMTP server at {where} did not answer within {within:g} s", reach
        )
    if isinstance(exc, aiosmtplib.SMTPConnectError | OSError):
        refused = _in_chain(exc, ConnectionRefusedError) is not None
        reason = "connection refused" if refused else str(exc)
        return failed("smtp", f"nothing answers at {where} ({reason})", reach)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return failed(
            "smtp", f"the SMTP server at {where} answered {exc.code} {exc.message}", reach
        )
    if isinstance(exc, aiosmtplib.SMTPException) and "AUTH" in str(exc):
        return failed(
            "smtp",
            f"the SMTP server at {where} offers no login (AUTH) to this connection",
            "turn on HUB_SMTP__START_TLS or HUB_SMTP__USE_TLS if it offers login over TLS"
            " only, or unset HUB_SMTP__USERNAME if it needs none",
        )
    return failed("smtp", f"the SMTP server at {where} cannot be used: {exc}", reach)


def _in_chain(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """`exc` or the first exception of type `kind` among its causes."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


async def _quit_smtp(client: object) -> None:
    import aiosmtplib

    assert isinstance(client, aiosmtplib.SMTP)
    if client.is_connected:
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()


async def check_telegram(settings: Settings, within: float) -> Check:
    """getMe with the bot's token, when Telegram is on."""
    import httpx

    t = settings.telegram
    if not t.enabled:
        return passed("telegram", "turned off (HUB_TELEGRAM__ENABLED=false)")
    base = t.base_url
    shown = base.split("://", 1)[-1].split("/", 1)[0]  # the host: the URL ends with the token
    try:
        async with httpx.AsyncClient(timeout=within) as client:
            response = await client.get(f"{base}{t.token.get_secret_value()}/getMe")
    except httpx.TimeoutException:
        return failed(
            "telegram",
            f"the Bot API at {shown} did not answer within {within:g} s",
            "check HUB_TELEGRAM__BASE_URL and the network",
        )
    except httpx.HTTPError as exc:
        return failed(
            "telegram",
            f"the Bot API at {shown} cannot be reached ({type(exc).__name__})",
            "start the Telegram sandbox (make run starts it) or set HUB_TELEGRAM__BASE_URL,"
            " or turn Telegram off (HUB_TELEGRAM__ENABLED=false)",
        )
    if response.status_code == 401:
        return failed(
            "telegram",
            f"the Bot API at {shown} refused the bot token (401 Unauthorized)",
            "set HUB_TELEGRAM__TOKEN to the token @BotFather gave the bot",
        )
    if response.status_code == 404:
        return failed(
            "telegram",
            f"the Bot API at {shown} does not know this address or token (404 Not Found)",
            "check HUB_TELEGRAM__BASE_URL (it ends in /bot) and HUB_TELEGRAM__TOKEN",
        )
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code != 200 or not isinstance(answer, dict) or not answer.get("ok"):
        return failed(
            "telegram",
            f"the Bot API at {shown} answered getMe with {response.status_code}",
            "check HUB_TELEGRAM__BASE_URL and HUB_TELEGRAM__TOKEN",
        )
    result = answer.get("result")
    username = result.get("username") if isinstance(result, dict) else None
    return passed("telegram", f"@{username}" if username else "")


async def dependency_checks(settings: Settings, within: float) -> list[Check]:
    probes: list[Callable[[Settings, float], Awaitable[Check]]] = [
        check_kafka,
        check_smtp,
        check_telegram,
    ]
    return list(await asyncio.gather(*(probe(settings, within) for probe in probes)))


def run_checks(settings: Settings, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> list[Check]:
    return [*configuration_checks(settings), *asyncio.run(dependency_checks(settings, timeout))]


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    checks = run_checks(settings, args.timeout)
    for check in checks:
        print(check.line(), flush=True)
    failures = [c for c in checks if not c.ok]
    if failures:
        print(f"{len(failures)} of {len(checks)} checks failed", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _seconds(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds > 0")
    return value


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = commands.add_parser(
        "doctor",
        help="check the configuration and that Kafka, SMTP and Telegram answer",
        description=__doc__,
    )
    doctor.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=f"how long each dependency may take to answer (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    doctor.set_defaults(handler=cmd_doctor)
