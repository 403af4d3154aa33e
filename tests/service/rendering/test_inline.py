"""The compile-time finishing of MRML's HTML (service.rendering.inline): styles inline, Jinja
intact, ASCII, short lines, MSO conditional comments untouched."""

from __future__ import annotations

import re

import mjml
import pytest

from service.rendering.compile import TemplateError, compile_mjml, dedent_lines, expand_includes
from service.rendering.environment import TEMPLATES_DIR
from service.rendering.inline import (
    MAX_TEMPLATE_LINE,
    break_lines,
    drop_full_width_column_rules,
    drop_tbody,
    drop_unused_classes,
    finish,
    minify_css,
    take_inline_styles,
    tidy_styles,
)

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
    # Byte for byte, none broken; only old Outlook's column fix goes (every column is full-width).
    kept = [c for c in re.findall(r"<!--.*?-->", raw, re.DOTALL) if "mj-outlook-group-fix" not in c]
    assert comments == kept and len(kept) >= 5
    assert "<mj-" not in html and 'inline="inline"' not in html
    # Inlined, so the inline-only rules are not left in <style> (the .brand; the paper's rule).
    styles = " ".join(re.findall(r"<style[^>]*>(.*?)</style>", html, re.DOTALL))
    assert "letter-spacing" not in styles and "border-top" not in styles
    assert "<tbody" not in html and "mj-column-per" not in html and "img{" not in styles
    assert "\n." not in html  # no line to dot-stuff on the wire
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


def test_style_elements_are_minified_one_indented_rule_a_line_comments_untouched() -> None:
    assert minify_css("\n.a , .b  {  color: red ;  margin: 0 1px; }\n@media (max-width: 480px) {\n.c { x: y; }\n}\n") == (
        "\n .a,.b{color:red;margin:0 1px}\n @media (max-width:480px){\n .c{x:y}\n }\n"
    )
    assert minify_css("a :hover { b: c !important; }") == "\n a :hover{b:c !important}\n"  # the blank before ":" stays
    html = "<style>\n.x { a: b; }\n</style><!--[if mso]><style>\n.y { a: b; }\n</style><![endif]-->"
    assert tidy_styles(html) == "<style>\n .x{a:b}\n</style><!--[if mso]><style>\n.y { a: b; }\n</style><![endif]-->"


def test_the_img_reset_stays_when_the_template_has_an_image() -> None:
    css = "<style>\nimg { border: 0; }\np { margin: 0; }\n</style>"
    assert tidy_styles(css + "<p>x</p>") == "<style>\n p{margin:0}\n</style><p>x</p>"
    assert tidy_styles(css + '<img src="a">') == '<style>\n img{border:0}\n p{margin:0}\n</style><img src="a">'


def test_tbody_tags_go_but_not_inside_comments() -> None:
    html = "<table><tbody>\n<tr><td>x</td></tr></tbody></table><!--[if mso]><table><tbody><![endif]-->"
    assert drop_tbody(html) == "<table><tr><td>x</td></tr></table><!--[if mso]><table><tbody><![endif]-->"


COLUMN_RULES = (
    "<style>@media only screen and (min-width:480px) { .mj-column-per-100 { width:100% !important; } }</style>\n"
    '<style media="screen and (min-width:480px)">.moz-text-html .mj-column-per-100 { width:100% !important; }</style>\n'
    "<!--[if lte mso 11]>\n<style>\n.mj-outlook-group-fix { width:100% !important; }\n</style>\n<![endif]-->\n"
)


def test_column_width_rules_go_only_when_every_column_is_full_width() -> None:
    full = COLUMN_RULES + '<div class="mj-outlook-group-fix mj-column-per-100" style="width:100%;">'
    assert drop_full_width_column_rules(full) == '<div class="mj-outlook-group-fix mj-column-per-100" style="width:100%;">'
    assert drop_unused_classes(drop_full_width_column_rules(full)) == '<div style="width:100%;">'
    halves = COLUMN_RULES.replace("per-100", "per-50") + '<div class="mj-column-per-50"></div><div class="mj-column-per-50">'
    assert drop_full_width_column_rules(halves) == halves
    mixed = COLUMN_RULES + '<div class="mj-column-per-100"></div><div class="mj-column-per-50">'
    assert drop_full_width_column_rules(mixed) == mixed
