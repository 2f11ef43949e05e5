"""Pre-built emails patched per recipient are build_message's emails, byte for byte (but for the
random boundary and the clock), for any name, address, links and text; links go only where the
templates put them."""

from __future__ import annotations

import re
from email import message_from_bytes, quoprimime
from email.contentmanager import raw_data_manager
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from channels.email.bodies import Body, _qp_quote, _qp_wrap
from channels.email.mime import POLICY, WIRE, build_message, wire_bytes
from channels.email.prebuilt import PrebuiltMessages
from hub.model.deliveries import ChannelKey, Delivery, PersonalLinks, Recipient
from hub.rendering.environment import Rendered, Renderer
from hub.rendering.links import PREFERENCES_MARK, UNSUBSCRIBE_MARK, link_marks, new_nonce
from hub.settings import REPO_ROOT
from tests.helpers import event

RENDERER = Renderer(REPO_ROOT / "templates")
SENDER = Address("Hub", addr_spec="hub@example.org")
DOMAIN = "hub.example.org"
NEWS = event()
RENDERINGS = [RENDERER.render(NEWS, "email", language) for language in ("en", "fr", "es")]
NONCE = new_nonce()
PREFERENCES, UNSUBSCRIBE = link_marks(NONCE)

PLAIN = st.from_regex(r"[A-Za-z0-9'+_-]{1,12}", fullmatch=True)
names = st.one_of(
    st.just(""),
    st.lists(PLAIN, min_size=1, max_size=6).map(" ".join),  # the fast path, or folded if long
    st.text(max_size=40),  # anything: accents, quotes, <, &, controls, line breaks, "=?"
    st.sampled_from(['Camille "C" Lefèvre', "Zoë Ñandú", "a & b <c@d>", "=?utf-8?q?x?="]),
)
addresses = st.builds(
    "{}@{}".format,
    st.one_of(PLAIN, st.from_regex(r"[a-z0-9]{1,60}(\.[a-z0-9]{1,9}){0,2}", fullmatch=True)),
    st.sampled_from(
        ["example.org", "exämple.org", "bücher.example", "a-very-long-subdomain." * 3 + "org"]
    ),
)
tokens = st.from_regex(r"[A-Za-z0-9._~=&'\"-]{0,120}", fullmatch=True)
link_sets = st.one_of(
    st.none(),
    st.builds(
        lambda p, u: PersonalLinks(
            f"https://hub.example.org/preferences?t={p}",
            f"https://hub.example.org/unsubscribe?t={u}",
            f"mailto:unsubscribe@hub.example.org?subject={u}",
        ),
        tokens,
        tokens,
    ),
)
delivery_ids = st.one_of(
    st.from_regex(r"[0-9a-f]{32}", fullmatch=True), st.text(min_size=1, max_size=80)
)
# Lines of every kind: ASCII, accented, wide scripts, long ones, and the links' markers.
lines = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="abc éà", min_size=70, max_size=200),
    st.text(alphabet="漢字かなاعربي", min_size=10, max_size=120),
    st.sampled_from([PREFERENCES, UNSUBSCRIBE, f"See {PREFERENCES} or {UNSUBSCRIBE}."]),
    st.builds("{} {}".format, st.text(max_size=90), st.sampled_from([PREFERENCES, UNSUBSCRIBE])),
)
texts = st.lists(lines, max_size=16).map("\n".join)
renderings = st.one_of(
    st.sampled_from(RENDERINGS),
    st.builds(Rendered, st.text(max_size=60), texts, texts, st.just(NONCE)),
)


def normalised(data: bytes) -> bytes:
    """The message without what differs by design: the random boundary, the clock."""
    boundary = re.search(rb'boundary="([^"]+)"', data)
    assert boundary is not None
    data = data.replace(boundary.group(1), b"BOUNDARY")
    return re.sub(rb"\r\nDate: [^\r]*\r\n", b"\r\nDate: -\r\n", data)


def built(rendered: Rendered, delivery: Delivery, utf8: bool) -> bytes | type[Exception]:
    try:
        message = build_message(rendered, delivery, sender=SENDER, message_id_domain=DOMAIN)
        return wire_bytes(message, utf8=utf8)
    except Exception as exc:  # the patched message must fail the same way
        return type(exc)


def same_as_built(got: object, expected: bytes | type[Exception]) -> bool:
    """The patched email is build_message's, or fails the same way (then True: nothing more to
    compare)."""
    if isinstance(expected, type):
        assert got is expected
        return True
    assert not isinstance(got, type), got
    assert normalised(got.data) == normalised(expected)  # type: ignore[attr-defined]
    return False


def patched(messages: PrebuiltMessages, rendered: Rendered, delivery: Delivery) -> object:
    try:
        return messages.message(rendered, delivery)
    except Exception as exc:
        return type(exc)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(renderings, names, addresses, link_sets, delivery_ids)
# A last line that was only a link, left empty without links, before a final line break.
@example(Rendered("", "", f"\n{PREFERENCES}\n", NONCE), "", "0@example.org", None, "1")
def test_a_patched_email_is_the_email_build_message_makes(
    rendered: Rendered, name: str, address: str, links: PersonalLinks | None, delivery_id: str
) -> None:
    messages = PrebuiltMessages(SENDER, DOMAIN)
    delivery = Delivery(
        delivery_id, NEWS.id, ChannelKey.EMAIL, "fr", Recipient("r1", name, address), 0, links
    )
    expected = built(rendered, delivery, utf8=not address.isascii())
    # Twice: built from a new skeleton, then from the cached one.
    for _ in range(2):
        got = patched(messages, rendered, delivery)
        if same_as_built(got, expected):
            continue
        assert got.utf8 == (not address.isascii())  # type: ignore[attr-defined]
        assert all(len(line) <= 998 for line in got.data.split(b"\r\n"))  # type: ignore[attr-defined]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(renderings, st.text(min_size=1, max_size=40)), min_size=2, max_size=5))
def test_events_sharing_one_shape_each_get_their_own_subject_and_event_id(
    events: list[tuple[Rendered, str]],
) -> None:
    # One worker's messages: the shape of a kind of message is flattened once and serves every
    # event of that kind, each with its own Subject and X-Hub-Event-Id lines.
    messages = PrebuiltMessages(SENDER, DOMAIN)
    links = PersonalLinks(
        "https://h.example/p?t=1", "https://h.example/u?t=1", "mailto:u@h.example"
    )
    for rendered, event_id in events:
        delivery = Delivery(
            "d" * 32,
            event_id,
            ChannelKey.EMAIL,
            "fr",
            Recipient("r1", "Ana", "ana@example.org"),
            0,
            links,
        )
        same_as_built(patched(messages, rendered, delivery), built(rendered, delivery, utf8=False))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(names, PLAIN), min_size=2, max_size=6))
def test_many_recipients_of_one_prebuilt_message_each_get_their_own_headers_and_links(
    people: list[tuple[str, str]],
) -> None:
    messages = PrebuiltMessages(SENDER, DOMAIN)
    rendered = RENDERINGS[1]
    for index, (name, local) in enumerate(people):
        links = PersonalLinks(
            f"https://hub.example.org/preferences?t=p{index}&x=<\"'>",
            f"https://hub.example.org/unsubscribe?t=u{index}",
            f"mailto:unsubscribe@hub.example.org?subject=u{index}",
        )
        delivery = Delivery(
            f"{index:032x}", NEWS.id, ChannelKey.EMAIL, "fr", Recipient("r", name, f"{local}@x.org")
        )
        delivery = Delivery(**{**_fields(delivery), "links": links})
        parsed = message_from_bytes(
            messages.message(rendered, delivery).data, policy=default_policy
        )
        assert isinstance(parsed, EmailMessage)
        assert parsed["To"].addresses[0].addr_spec == f"{local}@x.org"
        assert parsed["Message-ID"] == f"<{index:032x}@{DOMAIN}>"
        assert f"<{links.unsubscribe}>" in parsed["List-Unsubscribe"]
        text, html = (part.get_content() for part in parsed.iter_parts())  # type: ignore[attr-defined]
        assert links.preferences in text and links.unsubscribe in text
        escaped = "https://hub.example.org/preferences?t=p{}&amp;x=&lt;&#34;&#39;&gt;"
        assert escaped.format(index) in html and links.preferences not in html


def _fields(delivery: Delivery) -> dict[str, object]:
    return {name: getattr(delivery, name) for name in Delivery.__slots__}


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("short ascii\nlines", "7bit"),
        ("courtes lignes accentuées", "8bit"),
        ("une ligne accentuée bien plus longue que soixante-dix-huit caractères " * 3, None),
        ("漢字かな" * 40, "base64"),
        (f"{'é' * 90}\n{PREFERENCES}\n" + "x\n" * 20, None),
        ("a\n" * 30 + f"{UNSUBSCRIBE}" + "漢字" * 60, None),
    ],
)
def test_each_transfer_encoding_is_the_one_set_content_chooses(
    text: str, encoding: str | None
) -> None:
    links = {PREFERENCES.encode(): b"https://h/p?t=1", UNSUBSCRIBE.encode(): b"https://h/u?t=2"}
    body = Body(text, tuple(links), POLICY)
    personal = body.lines_for(links)
    reference = EmailMessage(policy=POLICY)
    personalised = text.replace(PREFERENCES, "https://h/p?t=1").replace(
        UNSUBSCRIBE, "https://h/u?t=2"
    )
    raw_data_manager.set_content(reference, personalised, "plain", "utf-8")
    chosen = body.encoding(personal)
    assert chosen == reference["Content-Transfer-Encoding"]
    assert encoding is None or chosen == encoding
    flattened = reference.as_bytes(policy=WIRE).split(b"\r\n\r\n", 1)[1]
    assert body.wire(chosen, personal, links) == flattened


def test_event_content_cannot_put_a_link_where_the_templates_did_not() -> None:
    """Markers in a title or body (the old fixed ones, or a guess) stay text; links go only into
    the footer, where the templates put them."""
    forged = f"{PREFERENCES_MARK} {UNSUBSCRIBE_MARK} __HUB_{NONCE}_UNSUBSCRIBE__"
    news = event(
        content={
            "en": {
                "title": f"Title {forged}",
                "summary": f"Summary {forged}",
                "body": f"Body {forged} &#95;&#95;HUB_UNSUBSCRIBE_URL&#95;&#95; [x]({forged})",
            }
        }
    )
    rendered = RENDERER.render(news, "email", "en")
    assert rendered.nonce and rendered.nonce != NONCE  # a new, random one per rendering
    links = PersonalLinks("https://h/preferences?t=P", "https://h/unsubscribe?t=U", "mailto:u@h")
    delivery = Delivery("d" * 32, news.id, ChannelKey.EMAIL, "en", Recipient("r", "R", "r@x.org"))
    delivery = Delivery(**{**_fields(delivery), "links": links})
    data = PrebuiltMessages(SENDER, DOMAIN).message(rendered, delivery).data
    parsed = message_from_bytes(data, policy=default_policy)
    text, html = (part.get_content() for part in parsed.iter_parts())  # type: ignore[attr-defined]
    for body in (text, html):
        assert body.count(links.unsubscribe) == 1 and body.count(links.preferences) == 1
        footer = body.rindex(links.preferences)
        assert PREFERENCES_MARK in body[:footer] and UNSUBSCRIBE_MARK in body[:footer]
    assert "UNSUBSCRIBE__" in text  # the guessed marker is still there, as text


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(min_value=4, max_value=100))
def test_quoting_pieces_then_wrapping_is_quoted_printable_of_the_line(
    line: bytes, width: int
) -> None:
    line = line.replace(b"\r", b"").replace(b"\n", b"")
    half = len(line) // 2
    quoted = _qp_quote(line[:half]) + _qp_quote(line[half:])
    assert _qp_wrap(quoted, width) == quoprimime.body_encode(line.decode("latin-1"), width, "\r\n")
