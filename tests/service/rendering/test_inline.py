"""The compile-time finishing of MRML's HTML (service.rendering.inline): styles inline, Jinja
intact, ASCII, short lines, MSO conditional comments untouched."""

from __future__ import annotations

import re

import mjml
import pytest

from service.rendering.compile import TemplateError, compile_mjml, dedent_lines, expand_includes
from service.rendering.environment import TEMPLATES_DIR
from service.rendering.inline import MAX_TEMPLATE_LINE, break_lines, drop_unused_classes, finish, take_inline_styles

NAMES = ["digest", "confirm", "welcome", "already"]


def source_of(name: str) -> str:
    folder = TEMPLATES_DIR / "email" / name
    return expand_includes((folder / "body.mjml").read_text(encoding="utf-8"), folder, TEMPLATES_DIR)


def body(html: str) -> str:
    return f"<!doctype html><html><head><style>@media (max-width:480px){{.keep{{color:red}}}}</style></head><body>{html}</body></html>"


def test_css_lands_in_style_attributes_and_jinja_passes_through_untouched() -> None:
    html = body('<div class="a keep">{% if n > 1 %}<b class="a">{{ x | e }}</b>{% endif %}</div>')
    out = finish(html, ".a { color: #123456; margin-top: 4px; } .a b { font-weight: 700 }")
    assert '<div class="keep" style="color:#123456;margin-top:4px">' in out  # "a" only served inlining
    assert "{% if n > 1 %}" in out and "{{ x | e }}" in out  # not "&gt;"
    assert '<b style="color:#123456;margin-top:4px;font-weight:700">' in out


def test_a_jinja_loop_between_table_rows_is_refused_not_silently_moved() -> None:
    # The HTML parser would foster-parent text between <tr>s out of the table.
    html = body("<table><tbody>{% for p in ps %}<tr><td>{{ p }}</td></tr>{% endfor %}</tbody></table>")
    with pytest.raises(ValueError, match="moved or dropped a Jinja tag"):
        finish(html, ".x { color: red }")


def test_classes_a_remaining_style_needs_are_kept_with_placeholders_left_alone() -> None:
    html = '<style>.px{padding:0}</style><td class="px foot">x</td><i class="a@@j0@@">y</i><!--<b class="z">-->'
    assert drop_unused_classes(html) == '<style>.px{padding:0}</style><td class="px">x</td><i class="a@@j0@@">y</i><!--<b class="z">-->'


def test_lines_break_between_blocks_never_inside_a_comment_or_between_inline_elements() -> None:
    html = "<div><a>PDF</a><a>Code</a></div><!--[if mso]><table><tr><td><![endif]--><div>x</div>"
    assert break_lines(html) == "<div>\n<a>PDF</a><a>Code</a></div><!--[if mso]><table><tr><td><![endif]-->\n<div>x</div>"


def test_inline_styles_are_taken_out_before_mrml_and_the_rest_stays() -> None:
    source = '<mj-style inline="inline">.a{color:red}</mj-style><mj-style>@media x{.b{}}</mj-style>'
    rest, css = take_inline_styles(source)
    assert css == ".a{color:red}" and rest == "<mj-style>@media x{.b{}}</mj-style>"
    assert dedent_lines("<p>\n    a\n\tb</p>") == "<p>\na\nb</p>"


@pytest.mark.parametrize("name", NAMES)
def test_every_shipped_template_compiles_to_short_ascii_lines_with_mso_comments_intact(name: str) -> None:
    source = source_of(name)
    html = compile_mjml(source)
    assert html.isascii()
    assert max(len(line) for line in html.split("\n")) <= MAX_TEMPLATE_LINE + 200  # Jinja tags restored
    raw = mjml.mjml2html(take_inline_styles(dedent_lines(source))[0], disable_comments=True)
    comments = re.findall(r"<!--.*?-->", html, re.DOTALL)
    assert comments == re.findall(r"<!--.*?-->", raw, re.DOTALL)  # byte for byte, none broken
    assert "<mj-" not in html and 'inline="inline"' not in html
    # Inlined, so nothing of ours but media queries and dark mode is left in <style>.
    styles = " ".join(re.findall(r"<style[^>]*>(.*?)</style>", html, re.DOTALL))
    assert "letter-spacing" not in styles and "#3446c4" not in styles  # the .brand and a rules
    assert '<meta name="color-scheme" content="light dark">' in html
    assert '<meta name="supported-color-schemes" content="light dark">' in html


def test_a_template_that_cannot_be_finished_is_a_template_error() -> None:
    source = (
        '<mjml><mj-head><mj-style inline="inline">.x{color:red}</mj-style></mj-head><mj-body><mj-section>'
        "<mj-column><mj-raw>{% for x in xs %}</mj-raw><mj-text>{{ x }}</mj-text><mj-raw>{% endfor %}</mj-raw>"
        "</mj-column></mj-section></mj-body></mjml>"
    )
    with pytest.raises(TemplateError, match="Jinja"):
        compile_mjml(source)
