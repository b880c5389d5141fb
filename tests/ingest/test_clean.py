"""Cleaning of UN page furniture, on the real corpus files."""

from khub.ingest.clean import clean_pages, is_furniture, join_cjk, running_lines
from tests.conftest import COP14, COP15


def test_furniture_removed_from_real_iccd_document():
    raw = COP14.read_text(encoding="utf-8")
    assert "GE.19-10569 (C) 080719 080719" in raw and "* 1 9 1 0 5 6 9 *" in raw and "请回收" in raw
    cleaned = clean_pages([raw], paged=False)[0]
    assert "GE.19-10569" not in cleaned
    assert "* 1 9 1 0 5 6 9 *" not in cleaned
    assert "请回收" not in cleaned
    # table of contents: leader dots followed by paragraph and page numbers
    assert "一. 背景....." not in cleaned and "段次" not in cleaned
    # the body survives, including the heading that the TOC entry pointed at
    assert "一. 背景\n" in cleaned
    assert "1. 缔约方会议在第 23/COP.11 号决定中建立了一个科学与政策联系平台" in cleaned


def test_toc_removed_and_paragraph_kept_in_cop15():
    cleaned = clean_pages([COP15.read_text(encoding="utf-8")], paged=False)[0]
    assert "F. 粮食体系峰会....." not in cleaned
    assert "29. 行动轨道 3 的目标是" in cleaned


def test_furniture_lines():
    assert is_furniture("GE.19-10569 (C) 080719 080719")
    assert is_furniture("* 1 9 1 0 5 6 9 *")
    assert is_furniture("Please recycle")
    assert is_furniture("I. Background.....\t1-16\t3")
    assert not is_furniture("1. The Conference of the Parties, by decision 23/COP.11, established the SPI.")


def test_cjk_line_breaks_joined_but_sentence_ends_kept():
    text = "全球机制和红十字与红新月联合会将合作实施其他支持\n共同利益和战略优先事项的方案。\n下一段"
    assert join_cjk(text) == "全球机制和红十字与红新月联合会将合作实施其他支持共同利益和战略优先事项的方案。\n下一段"
    assert join_cjk("秘书处 在促进和加强与 其他有关公约") == "秘书处在促进和加强与其他有关公约"
    # spaces next to digits or Latin letters are kept
    assert join_cjk("2021 年 9 月") == "2021 年 9 月"


def test_running_headers_detected_on_pages():
    pages = [f"ICCD/COP(14)/CST/5\n{n}. 正文第{n}段。\nGE.19-10569 {n}" for n in range(1, 6)]
    found = running_lines(pages)
    assert "ICCD/COP(#)/CST/#" in found
    cleaned = clean_pages(pages, paged=True)
    assert all("ICCD/COP(14)/CST/5" not in p for p in cleaned)
    assert "3. 正文第3段。" in cleaned[2]
