"""The seed reference parser: ids, URLs, titles, BibTeX, RIS, Zotero CSV; broken entries are
reported by line and the rest kept; a flood is capped with a message."""

from __future__ import annotations

import pytest

from service.subscribers.seed_refs import (
    BadRef,
    SeedRef,
    detect_format,
    merge,
    parse_bibtex,
    parse_one,
    parse_pasted,
    parse_ris,
    parse_upload,
    parse_zotero_csv,
)


def arxiv(ref: str) -> SeedRef:
    return SeedRef("arxiv", ref)


@pytest.mark.parametrize(("given", "expected"), [
    ("2406.01234", "2406.01234"),
    ("2406.01234v3", "2406.01234"),
    ("arXiv:2406.01234", "2406.01234"),
    ("arxiv: 2406.01234v2", "2406.01234"),
    ("1706.03762", "1706.03762"),
    ("0704.0001", "0704.0001"),
    ("https://arxiv.org/abs/2406.01234v2", "2406.01234"),
    ("http://arxiv.org/abs/2406.01234", "2406.01234"),
    ("https://arxiv.org/pdf/2406.01234v1", "2406.01234"),
    ("https://arxiv.org/pdf/2406.01234v1.pdf", "2406.01234"),
    ("arxiv.org/abs/2406.01234", "2406.01234"),
    ("https://export.arxiv.org/abs/2406.01234", "2406.01234"),
    ("https://www.arxiv.org/html/2406.01234v2/", "2406.01234"),
    ("https://huggingface.co/papers/2406.01234", "2406.01234"),
    ("<https://huggingface.co/papers/2406.01234>", "2406.01234"),
    ("https://doi.org/10.48550/arXiv.2406.01234", "2406.01234"),
    ("10.48550/arXiv.2406.01234", "2406.01234"),
    ("hep-th/9901001v2", "hep-th/9901001"),
    ("math.AG/0309136", "math/0309136"),
    ("https://arxiv.org/abs/hep-th/9901001", "hep-th/9901001"),
])
def test_ids_and_urls_become_bare_arxiv_ids(given: str, expected: str) -> None:
    assert parse_one(given) == arxiv(expected)


def test_anything_else_with_words_is_a_title_with_whitespace_collapsed() -> None:
    assert parse_one("  Attention Is   All You Need ") == SeedRef("title", "Attention Is All You Need")


@pytest.mark.parametrize(("given", "message"), [
    ("2413.01234", "not a valid arXiv id"),  # month 13
    ("2406.0123", "not a valid arXiv id"),  # 4 digits after 2014
    ("1205.01234", "not a valid arXiv id"),  # 5 digits before 2015
    ("arXiv:nonsense", "not a valid arXiv id"),
    ("https://example.com/paper/2406.01234", "not an arXiv or Hugging Face paper link"),
    ("https://arxiv.org/list/cs.LG/recent", "not an arXiv or Hugging Face paper link"),
    ("https://huggingface.co/models/2406.01234", "not an arXiv or Hugging Face paper link"),
    ("BERT", "too short"),
    ("x" * 1001, "longer than 1000"),
])
def test_bad_single_refs_say_why(given: str, message: str) -> None:
    with pytest.raises(BadRef, match=message):
        parse_one(given)


def test_pasted_text_keeps_good_lines_reports_bad_ones_by_line_and_dedupes() -> None:
    text = (
        "2406.01234, 2407.00001  https://arxiv.org/abs/2408.00002v1\n"
        "\n"
        "# my favourites\n"
        "Attention Is All You Need\n"
        "foo\n"
        "https://example.com/whatever\n"
        "arXiv:2406.01234v2\n"
        "attention is all you need\n"
    )
    parsed = parse_pasted(text)
    assert parsed.refs == [arxiv("2406.01234"), arxiv("2407.00001"), arxiv("2408.00002"),
                           SeedRef("title", "Attention Is All You Need")]
    assert [(p.line, p.text) for p in parsed.problems] == [(5, "foo"), (6, "https://example.com/whatever")]
    assert parsed.problems[1].describe() == "line 6: not an arXiv or Hugging Face paper link (https://example.com/whatever)"
    assert parsed.dropped == 0 and parsed.cap_message is None


def test_ten_thousand_pasted_ids_are_capped_with_a_message() -> None:
    ids = [f"2406.{n:05d}" for n in range(1, 10_001)]
    parsed = parse_pasted("\n".join(ids))
    assert len(parsed.refs) == 200 and parsed.refs[0] == arxiv("2406.00001") and parsed.refs[-1] == arxiv("2406.00200")
    assert parsed.dropped == 9_800
    assert parsed.cap_message is not None and "first 200 of 10,000" in parsed.cap_message


BIBTEX = r"""
@article{vaswani2017,
  title = {Attention Is {All} You Need},
  author = {Vaswani, Ashish and others},
  eprint = {1706.03762},
  archivePrefix = {arXiv},
}

@misc{broken, title = {Never closed, author = {x}

@article{fromjournal,
  title = {Some Paper Cited From Google Scholar},
  journal = {arXiv preprint arXiv:2310.06825},
}
@inproceedings{nourl,
  title = {A Conference Paper Without Any Identifier},
  booktitle = {Proceedings},
}
@article{byurl, title = {Ignored because the URL wins}, url = {https://arxiv.org/abs/2406.01234v2}}
@article{bydoi, doi = {10.48550/arXiv.2405.00001}}
@article{nothing, author = {Nobody}}
@article{vaswani2017, title = {Duplicate Key Entry Still Counts}, eprint = {2401.00001}}
"""


def test_bibtex_ids_from_eprint_journal_url_doi_else_title_and_broken_blocks_reported() -> None:
    parsed = parse_bibtex(BIBTEX)
    assert parsed.refs == [
        arxiv("1706.03762"),
        arxiv("2310.06825"),
        SeedRef("title", "A Conference Paper Without Any Identifier"),
        arxiv("2406.01234"),
        arxiv("2405.00001"),
        arxiv("2401.00001"),
    ]
    problems = {(p.line, p.message) for p in parsed.problems}
    assert (9, "is not valid BibTeX") in problems
    assert (21, "has neither an arXiv id nor a title") in problems
    assert len(parsed.problems) == 2


def test_not_bibtex_at_all_says_so() -> None:
    parsed = parse_bibtex("just some words\n")
    assert parsed.refs == [] and [p.message for p in parsed.problems] == ["no BibTeX entries found"]


RIS = """TY  - JOUR
TI  - Attention Is All You Need
UR  - http://arxiv.org/abs/1706.03762v7
ER  - 

TY  - JOUR
T1  - A Paper Known Only By Its Title
AU  - Doe, Jane
ER  - 

stray line that is not RIS
TY  - JOUR
TI  - Third one
N1  - arXiv: 2406.01234
ER  - 

TY  - JOUR
DO  - 10.48550/arXiv.2405.00001
ER  - 

TY  - JOUR
AU  - Somebody
ER  - 

TY  - JOUR
TI  - Cut Short At The End Of The File
"""


def test_ris_records_give_ids_or_titles_and_broken_ones_are_reported() -> None:
    parsed = parse_ris(RIS)
    assert parsed.refs == [
        arxiv("1706.03762"),
        SeedRef("title", "A Paper Known Only By Its Title"),
        arxiv("2406.01234"),
        arxiv("2405.00001"),
        SeedRef("title", "Cut Short At The End Of The File"),
    ]
    assert [(p.line, p.message.split(" (")[0]) for p in parsed.problems] == [
        (11, "is outside any RIS record"),
        (21, "has neither an arXiv id nor a title"),
        (25, "record has no ER line"),
    ]


ZOTERO_CSV = '''\ufeff"Key","Item Type","Publication Year","Author","Title","Publication Title","DOI","Url","Abstract Note","Extra"
"AAA","preprint","2017","Vaswani, Ashish","Attention Is All You Need","","10.48550/arXiv.1706.03762","","",""
"BBB","preprint","2024","Doe, Jane","From The Url","","","http://arxiv.org/abs/2406.01234v1","See also arXiv:2301.00001",""
"CCC","journalArticle","2023","Roe, R.","From Extra","Nature","","","","arXiv: 2310.06825 [cs]"
"DDD","journalArticle","2022","Poe, P.","A Journal Paper Known By Title","Nature","10.1038/x","","",""
"EEE","journalArticle","2022","","","","","","",""
"FFF","journalArticle","2022","Lo, L.","Multi
Line Title Field","","","","",""
"GGG","journalArticle","2021","Xu, X.","","","","","",""
'''


def test_zotero_csv_ids_from_doi_url_extra_else_title_and_empty_rows_reported() -> None:
    parsed = parse_zotero_csv(ZOTERO_CSV)
    assert parsed.refs == [
        arxiv("1706.03762"),
        arxiv("2406.01234"),  # the URL, not the id cited in the abstract
        arxiv("2310.06825"),
        SeedRef("title", "A Journal Paper Known By Title"),
        SeedRef("title", "Multi Line Title Field"),
    ]
    assert [(p.line, p.message) for p in parsed.problems] == [
        (6, "has neither an arXiv id nor a title"), (9, "has neither an arXiv id nor a title")]


def test_a_csv_without_the_zotero_columns_is_refused_whole() -> None:
    parsed = parse_zotero_csv("name,age\nbob,3\n")
    assert parsed.refs == [] and "not a Zotero CSV export" in parsed.problems[0].message


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("library.bib", "anything", "bibtex"),
    ("export.RIS", "anything", "ris"),
    ("My Library.csv", "anything", "csv"),
    ("upload", "% comment\n@article{x, title={T}}", "bibtex"),
    ("upload.txt", "TY  - JOUR\nER  - \n", "ris"),
    ("", '"Key","Item Type","Title"\n', "csv"),
    ("ids.txt", "2406.01234\n", "text"),
])
def test_format_is_told_by_name_then_by_content(name: str, text: str, expected: str) -> None:
    assert detect_format(name, text) == expected


def test_upload_decodes_latin1_and_merge_caps_across_paste_and_file() -> None:
    parsed = parse_upload("refs.txt", "Un article très connu sur l'attention\n".encode("latin-1"))
    assert parsed.refs == [SeedRef("title", "Un article très connu sur l'attention")]
    pasted = parse_pasted("\n".join(f"2406.{n:05d}" for n in range(1, 151)))
    uploaded = parse_upload("x.bib", "\n".join(
        f"@misc{{k{n}, eprint={{2407.{n:05d}}}}}" for n in range(1, 101)).encode())
    both = merge(pasted, uploaded)
    assert len(both.refs) == 200 and both.dropped == 50 and both.refs[150] == arxiv("2407.00001")
