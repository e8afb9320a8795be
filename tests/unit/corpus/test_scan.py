"""The leakage scan finds a held-out instance exactly when its input and output share a document."""

from __future__ import annotations

import random
import re

import pytest

from instructmtl.corpus import (
    DocumentLabel,
    HeldOutInstance,
    InstanceMatcher,
    LeakageError,
    held_out_instances,
    normalize_instance_text,
    not_checked,
    scan_documents,
    scan_labelled_documents,
)
from instructmtl.tasks.schema import Instance, Task

KALE = HeldOutInstance("task_a", "task_a-0", "kale", "green")
SEVENTEEN = HeldOutInstance("task_b", "task_b-3", "17", "odd")
LIST = HeldOutInstance("task_c", "task_c-1", "[3, 1, 2]", "[1, 2, 3]")
INSTANCES = [KALE, SEVENTEEN, LIST]


def _docs(*texts: str) -> list[tuple[str, str]]:
    return [("replay corpus seed 0", t) for t in texts]


def test_a_planted_instance_is_found_with_its_document_and_source():
    docs = _docs("nothing here", "apple -> red\nkale -> green\nplum -> purple", "also nothing")
    report = scan_documents(docs, INSTANCES, source="replay text")
    assert [(h.task, h.instance_id, h.source, h.document, h.pair) for h in report.hits] == [
        ("task_a", "task_a-0", "replay corpus seed 0", 1, True)
    ]
    assert report.checked and report.complete and report.documents == 3 and report.instances == 3
    assert report.leaked() == {("task_a", "task_a-0")}
    assert "kale -> green" in report.excerpts["task_a"]


def test_input_alone_or_output_alone_is_not_a_hit():
    docs = _docs("kale is a cabbage", "the grass is green", "17 apples", "an odd fellow", "[3, 1, 2] again")
    assert scan_documents(docs, INSTANCES).hits == ()
    # the two halves in different documents are not a hit either
    assert scan_documents(_docs("kale", "green"), INSTANCES).hits == ()


def test_matching_casefolds_collapses_whitespace_and_strips_surrounding_punctuation():
    planted = HeldOutInstance("t", "t-0", "  The  Quick\nFox. ", "JUMPS!")
    report = scan_documents(_docs("Example 1:\nInput: the quick   fox.\nOutput: jumps."), [planted])
    assert len(report.hits) == 1 and report.hits[0].pair
    assert normalize_instance_text("  The  Quick\nFox. ") == "the quick fox"
    # brackets are punctuation too: the list's items are what is looked for
    assert scan_documents(_docs("Q: [3, 1, 2]\nA: [1, 2, 3]"), [LIST]).hits[0].pair


def test_matches_are_whole_words():
    assert scan_documents(_docs("170 -> odd", "17 -> oddly", "x17 is odd"), [SEVENTEEN]).hits == ()
    # punctuation and spaces are boundaries: 17 inside a list counts
    assert len(scan_documents(_docs("[17, 4] is odd"), [SEVENTEEN]).hits) == 1


def test_a_pair_is_the_input_starting_its_line_and_the_output_ending_it():
    near = scan_documents(_docs("in: 17 | out: odd"), [SEVENTEEN]).hits
    far = scan_documents(_docs("17 is a number. " + "filler words " * 5 + "and it is odd"), [SEVENTEEN]).hits
    before = scan_documents(_docs("odd -> 17"), [SEVENTEEN]).hits
    assert near[0].pair and not far[0].pair and not before[0].pair
    # coincidences are hits, not pairs: the input inside a list or a sentence, or more after the output
    assert not scan_documents(_docs("[39, 17] -> odd"), [SEVENTEEN]).hits[0].pair
    assert not scan_documents(_docs("in: the count was 17. | out: odd"), [SEVENTEEN]).hits[0].pair
    assert not scan_documents(_docs("17 -> odd numbers"), [SEVENTEEN]).hits[0].pair
    # one pair's output and the next pair's input are not a pair; nor are two words side by side
    assert not scan_documents(_docs("Input: a\nOutput: 17.\n\nInput: b\nOutput: odd."), [SEVENTEEN]).hits[0].pair
    assert not scan_documents(_docs("Q: 17 odd\nA: x"), [SEVENTEEN]).hits[0].pair
    # labels and line breaks of every built-in layout still make a pair
    for layout in ("Input: 17\nOutput: odd", "Example 2:\nQ: 17.\nA: odd.", "x -> y\n17 => odd\nz -> w"):
        assert scan_documents(_docs(layout), [SEVENTEEN]).hits[0].pair, layout
    # an instance whose output equals its input is a pair only with a second occurrence after it
    same = HeldOutInstance("sort", "sort-0", "city", "city")
    assert not scan_documents(_docs("a city in the north"), [same]).hits[0].pair
    assert scan_documents(_docs("city -> city"), [same]).hits[0].pair


def test_an_instance_with_several_outputs_is_one_hit_per_document():
    task = Task("t", "d", (Instance("t-0", "kale", ("green", "Green.")),), categories=("C",))
    entries = held_out_instances([task])
    assert [e.output for e in entries] == ["green", "Green."]
    report = scan_documents(_docs("kale -> green"), entries)
    assert len(report.hits) == 1 and report.instances == 1


def test_labels_are_kept_and_max_documents_marks_the_scan_incomplete():
    label = DocumentLabel("patterns", "word_category", "builtin048_word_category")
    docs = [("builtin corpus seed 0", "kale -> green", label)] * 5
    report = scan_labelled_documents(docs, INSTANCES, source="s", max_documents=3)
    assert not report.complete and report.documents == 3 and "max_documents=3" in report.note
    assert [h.document for h in report.hits] == [0, 1, 2] and report.hits[0].label == label
    assert report.hits_by_kind() == {"patterns": 3} and report.hits_by_task() == {"task_a": 3}
    assert scan_labelled_documents(docs, INSTANCES, source="s", max_documents=5).complete


def test_a_leak_is_a_one_line_error_naming_task_instance_and_document():
    report = scan_documents(_docs("x", "17 -> odd"), INSTANCES, source="replay text")
    with pytest.raises(LeakageError) as caught:
        report.raise_for_leaks()
    message = str(caught.value)
    assert "\n" not in message
    assert "held-out task task_b instance task_b-3 appears in replay corpus seed 0 (document 1)" in message
    assert "fix:" in message
    scan_documents(_docs("nothing"), INSTANCES).raise_for_leaks()  # no hit, no error


def test_text_that_cannot_be_read_back_is_not_checked_not_an_error():
    report = not_checked("pretraining text of smollm2", "the pretraining data is unknown")
    assert not report.checked and not report.complete and report.note.startswith("not checked")
    report.raise_for_leaks()


def test_instances_that_normalize_to_nothing_are_skipped():
    blank = HeldOutInstance("t", "t-0", "...", "yes")
    assert scan_documents(_docs("... yes"), [blank]).hits == ()
    assert InstanceMatcher([]).find("anything") == []


def _naive_present(text: str, inst: HeldOutInstance) -> bool:
    """The rule written as plain regular expressions, one instance at a time."""
    norm = " ".join(text.casefold().split())

    def occurs(raw: str) -> bool:
        pattern = normalize_instance_text(raw)
        left = r"(?<![^\W_])" if pattern[0].isalnum() else ""
        right = r"(?![^\W_])" if pattern[-1].isalnum() else ""
        return re.search(left + re.escape(pattern) + right, norm) is not None

    return occurs(inst.input) and occurs(inst.output)


def test_the_automaton_agrees_with_a_naive_search_on_random_text():
    rng = random.Random(0)
    vocab = ["17", "170", "odd", "oddly", "kale", "green", "[3, 1, 2]", "[1, 2, 3]", "->", "Kale.", "x", "\n", "GREEN"]
    instances = [*INSTANCES, HeldOutInstance("d", "d-0", "odd", "kale"), HeldOutInstance("e", "e-0", "x", "x")]
    texts = [" ".join(rng.choice(vocab) for _ in range(rng.randint(1, 12))) for _ in range(400)]
    report = scan_documents(_docs(*texts), instances)
    found = {(h.document, h.task) for h in report.hits}
    expected = {(i, inst.task) for i, t in enumerate(texts) for inst in instances if _naive_present(t, inst)}
    assert found == expected and len(expected) > 50
