"""The layouts in which corpus documents show input → output pairs.

They overlap with the instruction format (``Input: x`` / ``Output: y`` lines
appear, and so does a numbered ``Example i:`` header) but never equal it: no
definition, no ``Positive Example``, no ``Now complete the following example``.
Pretraining thus teaches "pairs in a document share one mapping" across many
layouts, and instruction-tuning still has a format of its own to specialise
in (and, with it, something to forget).
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass


@dataclass(frozen=True)
class PairFormat:
    """How one pair is written and how pairs are joined.

    Attributes:
        name: a short label (for tests and statistics).
        pair: template with ``{x}`` and ``{y}``.
        joiner: text between consecutive pairs.
        numbered: whether an ``Example i:`` line may head each pair.
    """

    name: str
    pair: str
    joiner: str
    numbered: bool = False


FORMATS: tuple[PairFormat, ...] = (
    PairFormat("input-output", "Input: {x}\nOutput: {y}", "\n\n", numbered=True),
    PairFormat("qa", "Q: {x}\nA: {y}", "\n\n", numbered=True),
    PairFormat("arrow", "{x} -> {y}", "\n"),
    PairFormat("fat-arrow", "{x} => {y}", "\n"),
    PairFormat("equals", "{x} = {y}", "\n"),
    PairFormat("in-out", "in: {x} | out: {y}", "\n"),
    PairFormat("colon", "{x} : {y}", "\n"),
)

#: Probability that a numbered-capable document numbers its pairs.
P_NUMBERED = 0.3
#: Probability that a document ends each input and output with a period, as Tk-Instruct's
#: demonstrations do; seeing both styles keeps a trailing period from looking like content.
P_PERIODS = 0.3


def _period(text: str) -> str:
    return text if text and text[-1] in string.punctuation else text + "."


def render_pairs(pairs: list[tuple[str, str]], fmt: PairFormat, rng: random.Random) -> str:
    """Writes ``pairs`` in ``fmt``, with numbering and periods drawn per document.

    Args:
        pairs: the (input, output) pairs, in document order.
        fmt: the layout.
        rng: draws the per-document style choices.
    """
    numbered = fmt.numbered and rng.random() < P_NUMBERED
    periods = rng.random() < P_PERIODS
    blocks = []
    for i, (x, y) in enumerate(pairs, start=1):
        x, y = x.strip(), y.strip()
        if periods:
            x, y = _period(x), _period(y)
        block = fmt.pair.format(x=x, y=y)
        blocks.append(f"Example {i}:\n{block}" if numbered else block)
    return fmt.joiner.join(blocks)
