"""LaTeX made readable (pure): maths as plain text, markup gone, plain text left alone."""

from __future__ import annotations

import pytest

from service.sources.latex import has_tex, readable


@pytest.mark.parametrize(("tex", "plain"), [
    (r"$2^{n}$ states", "2^n states"),
    (r"$2^{n+1}$ states", "2^(n+1) states"),
    (r"\emph{x} and \textbf{bold} and \texttt{code}", "x and bold and code"),
    (r"$\mathcal{O}(n \log n)$ time", "O(n log n) time"),
    (r"$\alpha$-divergence, $\pi_\theta$", "α-divergence, π_θ"),
    (r"Remove the $\ln\ln T$ term", "Remove the ln ln T term"),
    (r"as $n \to \infty$", "as n → ∞"),
    (r"up to 6.01$\times$ faster", "up to 6.01× faster"),
    (r"$1/\sqrt{n}$ rate", "1/√(n) rate"),
    (r"$\mathbb{R}^d$", "R^d"),
    (r"see \cite{smith} and \href{https://a.example}{the code}", "see and the code"),
    (r"\LaTeX{} is fine", "LaTeX is fine"),
    (r"Fig.~3 shows \emph{it}", "Fig. 3 shows it"),
    (r"P\'al and \emph{x}", "Pál and x"),
])
def test_latex_becomes_plain_text(tex: str, plain: str) -> None:
    assert readable(tex) == plain


@pytest.mark.parametrize("text", [
    "improves accuracy by 50% on X",  # a bare % is no comment in plain text
    "R&D with ~47k tools (i)~the model {Qwen3-4B, 8B}",
    "costs $5 and $10",  # dollars, not maths
    "snake_case and a^b",
    "",
])
def test_plain_text_is_left_alone(text: str) -> None:
    assert not has_tex(text) and readable(text) == text


def test_literal_specials_survive_inside_converted_text() -> None:
    assert readable(r"50% of \emph{all} R&D, ~47k tools, #1, 3\% more") == "50% of all R&D, ~47k tools, #1, 3% more"
    assert readable(r"an odd \emph{one} $ out") == "an odd one $ out"


def test_broken_or_hostile_input_never_raises() -> None:
    for text in (r"\href{x", "{" * 5000 + r"\emph{a}", r"$\frac{1}{$", r"\begin{equation} x", "\ue000 $x$"):
        assert isinstance(readable(text), str)
    assert readable(r"\cite{only}") == r"\cite{only}"  # nothing left: the text stays as it came
