"""Splitting long Telegram messages: every part parses as Telegram HTML, no text is lost."""

from __future__ import annotations

import html

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.telegram.format import MAX_MESSAGE_CHARS, split_message, visible_length
from devstack.telegram_sandbox.errors import ApiError
from devstack.telegram_sandbox.html_mode import HtmlParser
from hub.rendering.environment import Renderer
from hub.settings import REPO_ROOT
from tests.helpers import event

RENDERER = Renderer(REPO_ROOT / "templates")


def parsed_text(part: str) -> str:
    """The text Telegram shows for a part; raises the Bot API's 400 if the part does not parse."""
    text, _entities = HtmlParser(part).parse()
    return text


def words(text: str) -> list[str]:
    return text.split()


def code_block_announcement(lines: int = 160) -> str:
    code = "\n\n".join(
        f"step_{i} = run(stage={i}, retries=3)  # migration pipeline" for i in range(lines)
    )
    body = (
        "The data pipeline for the migration observatory is now public.\n\n"
        + "```python\n"
        + code
        + "\n```\n\n"
        + "Questions go to the research desk."
    )
    news = event(content={"en": {"title": "Pipeline", "summary": "Pipeline", "body": body}})
    return RENDERER.render(news, "telegram", "en").html


def test_code_block_with_blank_lines_is_split_into_parts_telegram_accepts() -> None:
    message = code_block_announcement()
    assert visible_length(message) > 2 * MAX_MESSAGE_CHARS
    parts = split_message(message)
    assert len(parts) >= 3
    shown = [parsed_text(part) for part in parts]  # the sandbox parser refuses unbalanced tags
    assert all(len(text) <= MAX_MESSAGE_CHARS for text in shown)
    assert words(" ".join(shown)) == words(parsed_text(message))
    # The code stays code: every part that carries some of it has it inside <pre>.
    for part in parts:
        if "step_" in part:
            assert part.count("<pre>") == part.count("</pre>") >= 1


def test_the_sandbox_refuses_a_part_that_leaves_pre_open() -> None:
    with pytest.raises(ApiError, match="can't parse entities"):
        parsed_text("<pre>step_1 = run()")


def test_a_cut_prefers_a_blank_line_outside_every_tag() -> None:
    first = "<b>Intro</b> " + "a " * 1500
    code = "<pre>" + "\n\n".join("x" * 50 for _ in range(40)) + "</pre>"
    message = f"{first}\n\n{code}\n\n{'z ' * 1900}"
    parts = split_message(message)
    assert parts[:2] == [first, code]  # no tag split open while a clean cut existed
    assert all(p.count("<pre>") == p.count("</pre>") for p in parts)


def test_one_unbroken_word_longer_than_a_message_is_cut_and_kept() -> None:
    message = "<code>" + "x" * (MAX_MESSAGE_CHARS + 10) + "</code>"
    parts = split_message(message)
    assert [len(parsed_text(p)) for p in parts] == [MAX_MESSAGE_CHARS, 10]


def test_a_short_message_is_one_part_as_written() -> None:
    assert split_message("<b>Hello</b>\n\nworld") == ["<b>Hello</b>\n\nworld"]


block = st.tuples(
    st.sampled_from(["", "b", "i", "pre", "code", "a", "b>i", "blockquote>a"]),
    st.lists(st.text(min_size=0, max_size=900), min_size=1, max_size=6),
)


def render_block(tag: str, paragraphs: list[str]) -> str:
    inner = "\n\n".join(html.escape(p, quote=False) for p in paragraphs)
    for name in reversed(tag.split(">") if tag else []):
        opening = '<a href="https://example.org/x">' if name == "a" else f"<{name}>"
        inner = f"{opening}{inner}</{name}>"
    return inner


@given(
    st.lists(block, min_size=1, max_size=8), st.integers(min_value=50, max_value=MAX_MESSAGE_CHARS)
)
def test_every_part_parses_fits_and_nothing_is_lost(
    blocks: list[tuple[str, list[str]]], limit: int
) -> None:
    message = "\n\n".join(render_block(tag, paragraphs) for tag, paragraphs in blocks)
    parts = split_message(message, limit)
    shown = [parsed_text(part) for part in parts]
    assert all(len(text) <= limit for text in shown)
    if parsed_text(message).strip():
        assert all(text.strip() for text in shown)  # Telegram refuses an empty message
    assert words(" ".join(shown)) == words(parsed_text(message)) or (
        # a cut inside a word is allowed only where a word is longer than the limit
        "".join(words("".join(shown))) == "".join(words(parsed_text(message)))
    )
