"""The leakage scan of text: does a held-out instance appear in pretraining or replay documents?

DESIGN's validity rule says no held-out eval instance may be in the text a
model trained on. Instances are short and documents many (the shipped base
read about 100,000 documents), so the scan finds every instance string in one
pass per document with an Aho-Corasick automaton (``pyahocorasick``, a C
extension) instead of one substring search per instance.

**The rule.** An instance is *present* in a document when its normalized input
AND its normalized output both occur in that one document, each as a
whole-word match. Normalizing casefolds, collapses every run of whitespace into
one space, and (for the instance strings only) strips punctuation and spaces
from both ends, so ``"Input: Kale.\\n"`` and ``kale`` meet. A match is whole-word
when no letter or digit touches it on a side where the instance string itself
starts or ends with one (``"17"`` is not found in ``"170"``, ``"odd"`` not in
``"oddly"``).

**Shown as a pair** (:attr:`ScanHit.pair`, what the study's leakage check counts):
the document presents the instance itself, one line (or two) that is the input,
then the output: the input starts its line (after at most one ``label:``), the
output follows within :data:`PAIR_GAP` characters with nothing but punctuation
and at most one ``label:`` between (``" -> "``, ``"\nOutput: "``, ``" | out: "``),
and nothing but punctuation follows the output on its line. The bare both-strings
rule above counts coincidences too: a one-word input inside a sentence or a list
(``"[39, 112] -> yes"`` holds ``112`` and ``yes``), which no reader would call the
instance ``112 → yes``; on the shipped base's pretraining text such coincidences
were most of the hits. Both counts are reported.
"""

from __future__ import annotations

import re
import string
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import ahocorasick

from instructmtl.corpus.builtin import DocumentLabel
from instructmtl.errors import InstructMTLError
from instructmtl.tasks.schema import Task

#: Most characters between the end of an input and the start of its output in a pair;
#: covers every pair layout of the built-in corpus (``" -> "``, ``"\nOutput: "``, ``" | out: "``).
PAIR_GAP = 16
# what may stand between a line start and the input, or between input and output: punctuation
# and spaces around at most one label ("input:", "q:", "example 3:"); and after the output, punctuation
_LABELLED = re.compile(r"[\W_]*(?:(?P<label>[^\W\d_]+)(?: \d+)?:)?[\W_]*", re.ASCII)
# a pair's two sides as the layouts name them: the input never follows an output label, and the
# gap never holds an input label (else the output of one pair and the input of the next would match)
_OUTPUT_LABELS = frozenset({"output", "out", "a", "answer"})
_INPUT_LABELS = frozenset({"input", "in", "q", "question", "example"})
_PUNCTUATION = re.compile(r"[\W_]*", re.ASCII)
_STRIP = string.punctuation + string.whitespace


class LeakageError(InstructMTLError):
    """A held-out instance appears in text the model trained on (pretraining or replay)."""


def normalize_document(text: str) -> str:
    """``text`` casefolded with every run of whitespace turned into one space."""
    return " ".join(text.casefold().split())


def normalize_instance_text(text: str) -> str:
    """An instance's input or output as it is searched for: normalized, surrounding punctuation stripped."""
    return normalize_document(text).strip(_STRIP)


@dataclass(frozen=True, slots=True)
class HeldOutInstance:
    """One held-out (input, output) pair to look for.

    Attributes:
        task: the task's name.
        instance_id: the instance's id.
        input: the instance input, as in the task data.
        output: one acceptable output (an instance with several gives one entry per output).
    """

    task: str
    instance_id: str
    input: str
    output: str


def held_out_instances(tasks: Iterable[Task]) -> list[HeldOutInstance]:
    """Every instance of ``tasks`` as scan entries, one per acceptable output.

    Pass a held-out task's *whole* instance set: its fine-tuning (train) instances
    and its eval instances both must not be in pretraining or replay text.
    """
    return [
        HeldOutInstance(task.name, inst.id, inst.input, output)
        for task in tasks
        for inst in task.instances
        for output in dict.fromkeys(inst.outputs)
    ]


@dataclass(frozen=True, slots=True)
class ScanHit:
    """A held-out instance found in one document.

    Attributes:
        task: the held-out task.
        instance_id: its instance.
        source: the label of the text the document belongs to.
        document: the document's 0-based position in that text.
        pair: the document shows the instance as an input → output pair (see the module docstring).
        label: what the document is, when the text is the built-in corpus.
    """

    task: str
    instance_id: str
    source: str
    document: int
    pair: bool
    label: DocumentLabel | None = None


@dataclass(frozen=True)
class ScanReport:
    """What one scan found.

    Attributes:
        source: what was scanned (or not), in words.
        checked: ``False`` when the text cannot be scanned (a streamed dataset, a hub
            model's unknown pretraining data); ``note`` says why.
        complete: every document of the text was scanned.
        documents: documents scanned.
        instances: held-out instances looked for.
        hits: one per (instance, document) found, in document order.
        excerpts: task → the normalized text around its first hit (for reports).
        seconds: wall time of the scan, generation and tokenization included.
        note: why the text was not checked or not completely, else empty.
        fix: what to do about a leak, for :meth:`raise_for_leaks`.
    """

    source: str
    checked: bool
    complete: bool
    documents: int = 0
    instances: int = 0
    hits: tuple[ScanHit, ...] = ()
    excerpts: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    note: str = ""
    fix: str = "remove the document from the corpus or hold out another task"

    def leaked(self) -> set[tuple[str, str]]:
        """The distinct ``(task, instance_id)`` pairs found at least once."""
        return {(h.task, h.instance_id) for h in self.hits}

    def hits_by_task(self) -> Counter[str]:
        """Hit count per task."""
        return Counter(h.task for h in self.hits)

    def hits_by_kind(self) -> Counter[str]:
        """Hit count per built-in document kind (``unlabelled`` for other text)."""
        return Counter(h.label.kind if h.label else "unlabelled" for h in self.hits)

    def raise_for_leaks(self) -> None:
        """Raises when any held-out instance was found.

        Raises:
            LeakageError: naming the first hit's task, instance and document, the counts, and :attr:`fix`.
        """
        if not self.hits:
            return
        first = self.hits[0]
        raise LeakageError(
            f"held-out task {first.task} instance {first.instance_id} appears in {first.source} "
            f"(document {first.document}); {len(self.leaked())} held-out instance(s) in {len(self.hits)} "
            f"document hit(s) in all; fix: {self.fix}"
        )


def not_checked(source: str, reason: str) -> ScanReport:
    """The report for text that cannot be scanned: recorded, not an error."""
    return ScanReport(source=source, checked=False, complete=False, note=f"not checked: {reason}")


class InstanceMatcher:
    """Finds held-out instances in documents; built once per instance set.

    Args:
        instances: what to look for. Entries whose input or output normalizes to
            nothing (pure punctuation) cannot be told apart from any text and are skipped.
    """

    def __init__(self, instances: Sequence[HeldOutInstance]) -> None:
        self.instances = list(instances)
        self._automaton = ahocorasick.Automaton()
        self._patterns: list[str] = []
        ids: dict[str, int] = {}
        # pattern id of an input → (instance index, output pattern id) of the entries with that input
        self._by_input: dict[int, list[tuple[int, int]]] = {}
        for index, inst in enumerate(self.instances):
            pair = normalize_instance_text(inst.input), normalize_instance_text(inst.output)
            if not all(pair):
                continue
            pid_in, pid_out = (ids.setdefault(p, len(ids)) for p in pair)
            self._by_input.setdefault(pid_in, []).append((index, pid_out))
        for pattern, pid in ids.items():
            self._automaton.add_word(pattern, pid)
            self._patterns.append(pattern)
        if ids:
            self._automaton.make_automaton()

    def _occurrences(self, text: str) -> dict[int, list[int]]:
        """Pattern id → start offsets of its whole-word matches in the normalized ``text``."""
        found: dict[int, list[int]] = {}
        if not self._patterns:
            return found
        for end, pid in self._automaton.iter(text):
            pattern = self._patterns[pid]
            start = end - len(pattern) + 1
            if start > 0 and pattern[0].isalnum() and text[start - 1].isalnum():
                continue
            if end + 1 < len(text) and pattern[-1].isalnum() and text[end + 1].isalnum():
                continue
            found.setdefault(pid, []).append(start)
        return found

    def find(self, text: str) -> list[tuple[int, bool, int]]:
        """The instances present in one document.

        Args:
            text: the document, raw (it is normalized here).

        Returns:
            ``(instance index, shown as a pair, offset of the first input match)`` per present
            entry, in instance order; offsets refer to ``normalize_document(text)``.
        """
        norm = normalize_document(text)
        breaks = _line_breaks(text)
        found = self._occurrences(norm)
        present = []
        for pid_in, starts_in in found.items():  # the few strings found, not every instance
            entries = self._by_input.get(pid_in)
            if entries is None:
                continue
            ends_in = [s + len(self._patterns[pid_in]) for s in starts_in]
            for index, pid_out in entries:
                starts_out = found.get(pid_out)
                if starts_out is not None:
                    out_len = len(self._patterns[pid_out])
                    pair = any(
                        _is_pair(norm, breaks, s, e, o, o + out_len)
                        for s, e in zip(starts_in, ends_in, strict=True)
                        for o in starts_out
                    )
                    present.append((index, pair, starts_in[0]))
        return sorted(present)


_WORD = re.compile(r"\S+")


def _line_breaks(text: str) -> list[int]:
    """Offsets in ``normalize_document(text)`` of the spaces that replaced a line break, ascending.

    The normalized text is the words of ``text.casefold()`` joined by single spaces, so the
    space after word ``i`` sits at the summed length of words ``0..i`` plus ``i``.
    """
    folded = text.casefold()
    breaks: list[int] = []
    offset, previous_end = 0, None  # offset: where the current word starts in the normalized text
    for match in _WORD.finditer(folded):
        if previous_end is not None:
            if "\n" in folded[previous_end : match.start()] or "\r" in folded[previous_end : match.start()]:
                breaks.append(offset - 1)  # the joining space just before this word
        offset += len(match.group()) + 1
        previous_end = match.end()
    return breaks


def _line_around(norm: str, breaks: list[int], start: int, end: int) -> tuple[int, int]:
    """The span of the line (between original line breaks) that holds ``[start, end)``'s start and end."""
    before = [b for b in breaks if b < start]
    after = [b for b in breaks if b >= end]
    return (before[-1] + 1 if before else 0), (after[0] if after else len(norm))


def _is_pair(norm: str, breaks: list[int], in_start: int, in_end: int, out_start: int, out_end: int) -> bool:
    """Whether the input at ``[in_start, in_end)`` and the output at ``[out_start, out_end)`` form a shown pair."""
    if not 0 <= out_start - in_end <= PAIR_GAP:
        return False
    line_start, _ = _line_around(norm, breaks, in_start, in_start)
    _, line_end = _line_around(norm, breaks, out_end, out_end)
    before = _LABELLED.fullmatch(norm[line_start:in_start])
    gap = _LABELLED.fullmatch(norm[in_end:out_start])
    if before is None or gap is None or _PUNCTUATION.fullmatch(norm[out_end:line_end]) is None:
        return False
    # a separator: the gap is more than a space ("door door" is two words, not door -> door)
    separated = norm[in_end:out_start].strip() != "" or any(in_end <= b < out_start for b in breaks)
    return separated and before.group("label") not in _OUTPUT_LABELS and gap.group("label") not in _INPUT_LABELS


def scan_labelled_documents(
    documents: Iterable[tuple[str, str, DocumentLabel | None]],
    instances: Sequence[HeldOutInstance],
    *,
    source: str,
    max_documents: int | None = None,
) -> ScanReport:
    """:func:`scan_documents` for documents that carry a built-in label, which the hits keep.

    Args:
        documents: ``(source label, text, label or None)`` per document, in order.
        instances: what to look for.
        source: what the documents are, in words (the report's ``source``).
        max_documents: stop after this many (the report is then not ``complete``).
    """
    started = time.perf_counter()
    matcher = InstanceMatcher(instances)
    hits: list[ScanHit] = []
    excerpts: dict[str, str] = {}
    n_docs = 0
    complete = True
    for doc_source, text, label in documents:
        if max_documents is not None and n_docs >= max_documents:
            complete = False  # one more document exists past the cap
            break
        position, n_docs = n_docs, n_docs + 1
        present: dict[tuple[str, str], bool] = {}  # an instance with several outputs is one hit
        for index, pair, offset in matcher.find(text):
            inst = matcher.instances[index]
            key = (inst.task, inst.instance_id)
            present[key] = present.get(key, False) or pair
            if inst.task not in excerpts:
                excerpts[inst.task] = normalize_document(text)[max(0, offset - 80) : offset + 160]
        hits.extend(ScanHit(task, iid, doc_source, position, pair, label) for (task, iid), pair in present.items())
    return ScanReport(
        source=source,
        checked=True,
        complete=complete,
        documents=n_docs,
        instances=len({(i.task, i.instance_id) for i in instances}),
        hits=tuple(hits),
        excerpts=excerpts,
        seconds=time.perf_counter() - started,
        note="" if complete else f"stopped after max_documents={max_documents}",
    )


def scan_documents(
    documents: Iterable[tuple[str, str]],
    instances: Sequence[HeldOutInstance],
    *,
    source: str = "documents",
    max_documents: int | None = None,
) -> ScanReport:
    """Scans documents for held-out instances (see the module docstring for the rule).

    Args:
        documents: ``(source label, text)`` per document; the label (e.g. ``"replay corpus seed 3"``)
            is copied into each hit, the position in this iterable is the hit's ``document``.
        instances: what to look for (see :func:`held_out_instances`).
        source: what the documents are, in words.
        max_documents: stop after this many (the report is then not ``complete``).

    Returns:
        The report; ``report.raise_for_leaks()`` turns a hit into a :class:`LeakageError`.
    """
    return scan_labelled_documents(
        ((doc_source, text, None) for doc_source, text in documents),
        instances,
        source=source,
        max_documents=max_documents,
    )
