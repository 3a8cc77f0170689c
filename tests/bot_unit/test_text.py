from __future__ import annotations

import pytest

from bot.presenter.text import md_to_mrkdwn, neutralize_mentions, split_text, truncate

ZW = "\u200b"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<!here> wake up", f"@{ZW}here wake up"),
        ("<!channel>", f"@{ZW}channel"),
        ("<!everyone>", f"@{ZW}everyone"),
        ("ping <@U0SRE00001>", f"ping @{ZW}U0SRE00001"),
        ("<@U1|dana>", f"@{ZW}dana"),
        ("<!subteam^S0SRE|@sre-oncall>", f"@{ZW}sre-oncall"),
        ("bare @here and @Channel", f"bare @{ZW}here and @{ZW}Channel"),
        ("a & b <script>", "a &amp; b &lt;script&gt;"),
        ("already &lt;escaped&gt; &amp; fine", "already &lt;escaped&gt; &amp; fine"),
        ("see <https://rb.example/x?a=1|runbook>", "see <https://rb.example/x?a=1|runbook>"),
        ("mail me@here.com", "mail me@here.com"),
    ],
)
def test_neutralize_mentions(raw, expected):
    assert neutralize_mentions(raw) == expected


def test_neutralised_text_has_no_mention_syntax_left():
    evil = "<!here|here> <!channel> <@U123> <!subteam^S1> @everyone <#C1|ops> <x|<!here>>"
    out = neutralize_mentions(evil)
    assert "<!" not in out and "<@" not in out and "@everyone" not in out


def test_links_can_be_dropped():
    assert neutralize_mentions("<https://x.example|x>", keep_links=False).startswith("&lt;")


def test_markdown_to_mrkdwn():
    md = (
        "## Root cause\n**Memory limit** cut to *128Mi*, see [rollout](https://x.example/r)\n"
        "- roll back\n~~old~~ `**code**`\n```\n**kept**\n```"
    )
    assert md_to_mrkdwn(md).splitlines() == [
        "*Root cause*",
        "*Memory limit* cut to _128Mi_, see <https://x.example/r|rollout>",
        "• roll back",
        "~old~ `**code**`",
        "```",
        "**kept**",
        "```",
    ]


def test_split_prefers_paragraphs():
    text = "\n\n".join(["a" * 40, "b" * 40, "c" * 40])
    assert split_text(text, 90) == ["a" * 40 + "\n\n" + "b" * 40, "c" * 40]


def test_split_never_leaves_a_code_fence_open():
    code = "\n".join(f"line {i:03d} " + "x" * 30 for i in range(200))
    text = "intro paragraph\n\n```python\n" + code + "\n```\n\nafter"
    chunks = split_text(text, 500)
    assert len(chunks) > 10
    for chunk in chunks:
        assert len(chunk) <= 500
        assert chunk.count("```") % 2 == 0, chunk
    joined = "\n".join(chunks)
    for i in range(200):  # nothing lost
        assert f"line {i:03d} " in joined
    assert chunks[-1].endswith("after")
    assert chunks[2].startswith("```python")  # reopened with the same language


def test_split_cuts_huge_lines_at_spaces():
    text = " ".join(["word"] * 3000)
    chunks = split_text(text, 3000)
    assert all(len(c) <= 3000 for c in chunks)
    assert sum(c.count("word") for c in chunks) == 3000


def test_truncate_closes_fence():
    out = truncate("```\n" + "x\n" * 100, 50)
    assert len(out) <= 50 and out.count("```") == 2
