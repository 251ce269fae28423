"""Descriptions the owner writes in Markdown, rendered to HTML that is safe to put on a page."""
import html
import re

import markdown
import nh3
from markupsafe import Markup

# What a description may hold: paragraphs, lists, emphasis, links, quotes and code. No images,
# styles, scripts, forms or headings that would compete with the page's own.
ALLOWED_TAGS = {"p", "br", "ul", "ol", "li", "strong", "em", "b", "i", "a", "code", "pre", "blockquote", "hr"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
LINK_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow noopener"
MAX_META_DESCRIPTION = 160  # about what search engines show
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def _markdown_to_html(text: str) -> str:
    converter = markdown.Markdown(extensions=["sane_lists"], output_format="html")
    # Raw HTML typed into a description is shown as text, never passed through.
    converter.preprocessors.deregister("html_block")
    converter.inlinePatterns.deregister("html")
    return converter.convert(text)


def render_markdown(text: str | None) -> Markup:
    """Return the Markdown text as sanitised HTML: paragraphs, lists, bold, italic and nofollow links."""
    if not text:
        return Markup("")
    cleaned = nh3.clean(
        _markdown_to_html(text), tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=LINK_SCHEMES,
        link_rel=LINK_REL, strip_comments=True,
    )
    return Markup(cleaned)  # noqa: S704  (nh3 has sanitised it)


def plain_text(text: str | None) -> str:
    """Return the Markdown text's words without any markup, whitespace collapsed."""
    if not text:
        return ""
    stripped = nh3.clean(_markdown_to_html(text), tags=set(), attributes={})
    return " ".join(html.unescape(stripped).split())


def first_sentence(text: str | None, limit: int = MAX_META_DESCRIPTION) -> str:
    """Return the description's first sentence as plain text, cut to the limit at a word boundary."""
    words = plain_text(text)
    sentence = _SENTENCE_END.split(words, maxsplit=1)[0]
    if len(sentence) <= limit:
        return sentence
    return sentence[: limit - 1].rsplit(" ", 1)[0] + "…"
