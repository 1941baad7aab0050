"""The splitter turns each policy into citable clauses: numbers, bullets with lead-ins, headings, tables."""
from __future__ import annotations

from knowledge.splitter import clean, document_title, split_document


def by_number(clauses, number):
    found = [c for c in clauses if c.number == number]
    assert found, f"no clause {number}; have {[c.number for c in clauses][:40]}"
    return found[0]


def test_numbered_clauses_keep_their_numbers_and_section_heading(split):
    clause = by_number(split["wolverhampton-staff-code-of-conduct"], "10.1")
    assert clause.text.startswith("Staff who wish to report a matter related to this policy")
    assert clause.title == "Reporting and Review"


def test_a_bullet_keeps_the_numbered_lead_in_it_completes(split):
    clause = by_number(split["wolverhampton-staff-code-of-conduct"], "5.3(b)")
    assert clause.text.startswith("choose online ‘friends’ carefully")
    assert clause.context == "5.3 As an employee you must"
    assert clause.quoted().startswith("5.3 As an employee you must — choose online")


def test_middle_dot_bullets_are_lettered_under_their_lead_in(split):
    clause = by_number(split["bedford-internet-social-media"], "3.3(h)")
    assert clause.text == "Never cite or reference pupils, staff or parents without their approval."
    assert clause.context.startswith("3.3 In summary, therefore, adults should")


def test_paragraphs_in_a_numbered_section_are_numbered_in_order(split):
    clause = by_number(split["qeii-school"], "6.6")
    assert clause.text.startswith("Staff members must decline 'friend requests' from pupils")
    assert clause.title == "Personal use of social media"  # sentence-cased from the capitals heading


def test_bold_bullets_act_as_sub_headings_for_the_items_below(split):
    clauses = split["kings-school"]
    clause = next(c for c in clauses if c.text.startswith("Staff are not permitted to follow or engage"))
    assert clause.context == "Pupil/Students"
    assert clause.title == "Personal use"
    assert clause.number == "Personal use › Pupil/Students #1"


def test_markdown_headings_give_structure(split):
    clause = next(c for c in split["ashlands-primary"] if c.text.startswith("Staff are not permitted to follow"))
    assert clause.title == "Personal use"
    assert clause.context == "Pupils"


def test_definitions_table_rows_become_clauses_and_the_header_row_does_not(split):
    rows = [c for c in split["school-template"] if c.title == "Definitions of terms"]
    labels = [c.context for c in rows]
    assert "Social networking - specifically Facebook" in labels and "Geo tagging" in labels
    assert "Technology" not in labels
    facebook = rows[labels.index("Social networking - specifically Facebook")]
    assert "Private messages, however, can also be sent." in facebook.text
    assert "<p>" not in facebook.text


def test_a_table_of_contents_is_not_policy(split):
    assert not any(c.text.strip().isdigit() or c.context == "1. Introduction" for c in split["qeii-school"])


def test_a_paragraph_broken_by_a_page_break_is_joined(split):
    clause = by_number(split["wolverhampton-staff-code-of-conduct"], "3.3")
    assert "promote levels of employee engagement and externally" in clause.text


def test_a_short_list_is_also_kept_whole_with_its_lead_in(split):
    clause = next(c for c in split["kings-school"] if c.text.startswith("The school community is encouraged"))
    assert "- The aim of the account" in clause.text and "- Will the account be open or private/closed" in clause.text


def test_crown_glyph_bullets_and_form_blanks_are_dropped(split):
    texts = [c.text for c in split["qeii-school"] + split["bedford-internet-social-media"]]
    assert not any("👑" in t for t in texts)
    assert not any("____" in t for t in texts)


def test_every_source_splits_into_many_clauses_with_text(split):
    assert len(split) == 7
    for source, clauses in split.items():
        assert len(clauses) >= 30, source
        assert all(c.text.strip() and c.source == source for c in clauses)


def test_a_new_policy_needs_no_code():
    text = """# Oakfield Academy Online Conduct Policy

## 1 Contact with pupils

1.1 Staff must not accept friend requests from pupils.

1.2 Staff should report concerns to the DSL:

- screenshots should be kept
- the time and date should be noted
"""
    clauses = split_document("oakfield", text)
    assert document_title(text) == "Oakfield Academy Online Conduct Policy"
    assert [c.number for c in clauses] == ["1.1", "1.2", "1.2(a)", "1.2(b)"]
    assert clauses[3].context == "1.2 Staff should report concerns to the DSL"
    assert clauses[1].text.endswith("- the time and date should be noted")


def test_clean_removes_markup_but_keeps_the_words():
    assert clean("**choose online ‘friends’** <i>carefully</i> &amp; well") == "choose online ‘friends’ carefully & well"


def test_a_sentence_ending_in_a_colon_leads_in_each_bullet_below_it(split):
    clause = next(c for c in split["organisation-social-media-policy"] if c.text == "is defamatory or knowingly false")
    assert clause.context == "Employees should not upload any content on to social media sites that"
    assert clause.title == "Acceptable use"
    assert clause.number.endswith("(g)")


def test_short_label_lines_become_headings_for_their_list(split):
    clause = next(c for c in split["organisation-social-media-policy"]
                  if c.text.startswith("addressing any concerns and/or questions employees may have"))
    assert clause.title == "Managers are responsible for"
