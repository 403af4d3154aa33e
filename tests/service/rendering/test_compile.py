from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from service.rendering import compile as compile_module
from service.rendering import render_digest
from service.rendering.compile import (
    MjmlCompiler,
    TemplateError,
    compile_mjml,
    expand_includes,
)
from service.rendering.renderer import EmailRenderer
from tests.service.rendering.samples import digest, paper

SIMPLE = "<mjml><mj-body><mj-section><mj-column><mj-text>Hi {{ name }}</mj-text></mj-column></mj-section></mj-body></mjml>"


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every MRML run, counted by wrapping the function the compiler calls."""
    calls: list[str] = []
    real = compile_module.mjml.mjml2html

    def counting(source: str, **kwargs: object) -> str:
        calls.append(source)
        return real(source, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(compile_module.mjml, "mjml2html", counting)
    return calls


def test_one_compile_for_a_hundred_digests(counted: list[str]) -> None:
    renderer = EmailRenderer()
    htmls = {render_digest(digest(3, recipient=f"reader{i}@example.org"), renderer).html for i in range(100)}
    assert len(counted) == 1
    assert renderer.compiler.compiles == 1
    assert len(htmls) == 100  # each one personalised all the same


def test_disk_cache_spares_a_new_process_the_compile(tmp_path: Path, counted: list[str]) -> None:
    first = EmailRenderer(cache_dir=tmp_path / "mjml")
    html = render_digest(digest(2), first).html
    second = EmailRenderer(cache_dir=tmp_path / "mjml")
    assert render_digest(digest(2), second).html == html
    assert len(counted) == 1 and second.compiler.compiles == 0
    assert len(list((tmp_path / "mjml").glob("*.html"))) == 1


def test_changed_source_gets_a_new_key_and_a_new_compile(counted: list[str]) -> None:
    compiler = MjmlCompiler()
    key_a, _ = compiler.compile(SIMPLE)
    compiler.compile(SIMPLE)
    key_b, html_b = compiler.compile(SIMPLE.replace("Hi", "Hello"))
    assert key_a != key_b and "Hello {{ name }}" in html_b
    assert len(counted) == 2


def test_jinja_survives_mjml_including_loops_in_mj_raw() -> None:
    source = SIMPLE.replace(
        "<mj-column><mj-text>Hi {{ name }}</mj-text>",
        "<mj-column><mj-raw>{% for x in xs %}</mj-raw><mj-text>{{ x }}</mj-text><mj-raw>{% endfor %}</mj-raw>",
    )
    html = compile_mjml(source)
    assert "{% for x in xs %}" in html and "{% endfor %}" in html and "{{ x }}" in html


def test_broken_mjml_is_a_template_error() -> None:
    with pytest.raises(TemplateError):
        compile_mjml("<mjml><mj-body><mj-section>")


def test_includes_are_inlined_relative_to_the_including_file(tmp_path: Path) -> None:
    (tmp_path / "_base").mkdir()
    (tmp_path / "_base" / "part.mjml").write_text("<mj-text>part</mj-text>")
    source = '<mj-column><mj-include path="../_base/part.mjml" /></mj-column>'
    assert (
        expand_includes(source, tmp_path / "digest", tmp_path)
        == "<mj-column><mj-text>part</mj-text></mj-column>"
    )


def test_includes_cannot_leave_the_templates_directory(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("secret")
    root = tmp_path / "templates"
    root.mkdir()
    with pytest.raises(TemplateError, match="outside"):
        expand_includes('<mj-include path="../secret.txt" />', root, root)
    with pytest.raises(TemplateError, match="not found"):
        expand_includes('<mj-include path="missing.mjml" />', root, root)


def test_included_sections_keep_the_body_width() -> None:
    # Why we inline includes ourselves: the digest's one section is 600px wide, footer included.
    html = render_digest(digest(1), EmailRenderer()).html
    sections = re.findall(r'<div class="card" style="([^"]*margin:0px auto[^"]*)"', html)
    assert len(sections) == 1  # one card: intro, the papers and the footer
    assert all("max-width:600px" in style for style in sections)
    assert html.index("Your papers for") < html.index("papermail, 1 Example Street") < html.index("</table>", -400)


def test_the_digest_template_keeps_its_diet() -> None:
    """The markup the digest template adds by itself (Jinja tags aside): a paper's block, all its
    branches, and the frame around the list. Bounded so that an inline style put back on every
    paper shows here first: a 10-paper digest with vote links stays ≤ 20 KB (issue 17; 1222 and
    5131 bytes before its secondary lines were styled from <style>)."""
    html = EmailRenderer().html_source("digest")
    start, end = html.index("{# paper #}"), html.index("{# /paper #}")
    jinja = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
    assert len(jinja.sub("", html[start:end])) <= 850
    assert len(jinja.sub("", html[:start] + html[end:])) <= 5000


def test_a_ten_paper_digest_with_vote_links_is_under_20_kb() -> None:
    base = "https://papermail.example/vote/123456.3"
    papers = [replace(paper(i), more_url=f"{base}.{28500 + i}.u.jeJk7-gvaH9rY2xD",
                      less_url=f"{base}.{28500 + i}.d.OrBw1GCZ-Kgl-Fnq") for i in range(10)]  # fmt: skip
    assert len(render_digest(digest(papers=papers)).html.encode()) <= 20 * 1024
