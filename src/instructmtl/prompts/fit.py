"""Fitting prompts to a model's context length without touching their targets.

Order of sacrifices: demonstrations first (from the last one), then the input
(from its end, by tokens); never the target, which is what is scored. If a
prompt does not fit even with no demonstrations and an empty input,
:class:`~instructmtl.errors.PromptTooLongError` says which one and what to do.

Demonstrations are dropped per *group* of prompts sharing one prefix (one task
and encoding), never per prompt, because a prefix must be identical across a
task's instances for evaluation to cache its keys and values once and because a
task should be measured under one condition. The group keeps the largest number
of demonstrations ``d`` such that

1. every prompt of the group still fits with an empty input (so trimming can
   always finish), and
2. every prompt that fits untrimmed with no demonstrations at all also fits
   untrimmed with ``d``: no input is trimmed that dropping demonstrations could
   have kept whole.

The cost of rule 2: one long outlier instance lowers ``d`` for its whole task.
The alternative (keep more demonstrations and trim the outlier) would trim an
input to keep a demonstration, against the order of sacrifices; the report
shows per task how many demonstrations went, so an outlier is visible.

Lengths are counted per piece (prefix, query, target plus end marker, each
tokenized on its own), as a prefix cache sees them; for a Hugging Face
tokenizer, room for its special tokens (e.g. BOS) is set aside.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from instructmtl.errors import PromptTooLongError
from instructmtl.prompts.prompt import Prompt

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

TokenCounter = Callable[[str], int]

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class FitReport:
    """What :func:`fit_to_context` changed.

    Attributes:
        prompts_changed: prompts that lost demonstrations or input.
        inputs_trimmed: prompts whose input was shortened.
        demos_dropped: demonstrations removed from each shared prefix, keyed by
            (task, encoding); only prefixes that lost some appear.
    """

    prompts_changed: int
    inputs_trimmed: int
    demos_dropped: dict[tuple[str, str], int]

    def summary(self) -> str:
        """One line for logs."""
        dropped = sum(self.demos_dropped.values())
        return (
            f"{self.prompts_changed} prompts changed: {dropped} demonstrations dropped "
            f"in {len(self.demos_dropped)} tasks, {self.inputs_trimmed} inputs trimmed"
        )


@dataclass(frozen=True)
class _Tokens:
    """Counts tokens and names the places where an input may be cut."""

    count: TokenCounter
    cut_points: Callable[[str], list[int]]
    reserved: int


def _word_ends(text: str) -> list[int]:
    return [m.end() for m in _WORD.finditer(text)]


def _tokens_of(counter: TokenCounter | PreTrainedTokenizerBase) -> _Tokens:
    # transformers is imported here, not at the top, so that encoding prompts
    # (e.g. for `instructmtl tasks show`) does not pay for loading it
    from transformers import PreTrainedTokenizerBase

    if not isinstance(counter, PreTrainedTokenizerBase):
        # a plain count function: cut inputs between whitespace-separated words
        return _Tokens(counter, _word_ends, 0)
    tokenizer = counter

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    def token_ends(text: str) -> list[int]:
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return sorted({end for _, end in enc["offset_mapping"] if end > 0})

    return _Tokens(count, token_ends, tokenizer.num_special_tokens_to_add())


def fit_to_context(
    prompts: Sequence[Prompt],
    counter: TokenCounter | PreTrainedTokenizerBase,
    max_tokens: int,
) -> tuple[tuple[Prompt, ...], FitReport]:
    """Makes every prompt plus its completion fit in ``max_tokens``.

    Args:
        prompts: prompts of one or more tasks; prompts with the same task,
            encoding and prefix form a group that keeps one shared prefix.
        counter: a function from text to its token count (inputs are then cut
            between words), or a Hugging Face tokenizer (cut between tokens; wrap a
            bare ``tokenizers.Tokenizer`` in ``PreTrainedTokenizerFast(tokenizer_object=...)``).
        max_tokens: the context length, special tokens included.

    Returns:
        The fitted prompts in the given order, and what changed.

    Raises:
        PromptTooLongError: a prompt does not fit even with no demonstrations
            and an empty input.
    """
    tokens = _tokens_of(counter)
    budget = max_tokens - tokens.reserved
    groups: dict[tuple[str, str, str], list[int]] = {}
    for i, prompt in enumerate(prompts):
        groups.setdefault((prompt.task, prompt.encoding, prompt.prefix), []).append(i)
    fitted = list(prompts)
    dropped: dict[tuple[str, str], int] = {}
    trimmed = 0
    for (task, encoding, _), indices in groups.items():
        group = [prompts[i] for i in indices]
        keep = _demos_to_keep(group, tokens, budget, max_tokens)
        if keep < len(group[0].demonstrations):
            dropped[(task, encoding)] = len(group[0].demonstrations) - keep
        for i, prompt in zip(indices, group, strict=True):
            shorter = replace(prompt, demonstrations=prompt.demonstrations[:keep])
            fitted[i] = _trim_input(shorter, tokens, budget)
            trimmed += fitted[i].input != prompt.input
    changed = sum(new != old for new, old in zip(fitted, prompts, strict=True))
    return tuple(fitted), FitReport(changed, trimmed, dropped)


def _demos_to_keep(group: list[Prompt], tokens: _Tokens, budget: int, max_tokens: int) -> int:
    """The most demonstrations a group can keep (rules 1 and 2 in the module docstring)."""
    first = group[0]
    prefix_len = [
        tokens.count(first.header + "".join(first.demonstrations[:d])) for d in range(len(first.demonstrations) + 1)
    ]
    full = [tokens.count(p.query) + tokens.count(p.completion) for p in group]
    least = [tokens.count(replace(p, input="").query) + tokens.count(p.completion) for p in group]
    for prompt, n in zip(group, least, strict=True):
        if prefix_len[0] + n > budget:
            raise PromptTooLongError(
                f"task '{prompt.task}' instance '{prompt.instance_id or '(task example)'}': "
                f"even with no demonstrations and an empty input the prompt and its target need "
                f"{prefix_len[0] + n + tokens.reserved} tokens (the target alone "
                f"{tokens.count(prompt.completion)}), over the maximum of {max_tokens}; "
                "raise the max length, or choose an encoding with a shorter header than "
                f"'{prompt.encoding}', or drop this instance"
            )
    whole = [n for n in full if prefix_len[0] + n <= budget]
    for d in range(len(first.demonstrations), 0, -1):
        if prefix_len[d] + max(least) <= budget and all(prefix_len[d] + n <= budget for n in whole):
            return d
    return 0


def _trim_input(prompt: Prompt, tokens: _Tokens, budget: int) -> Prompt:
    """Cuts the input from its end, at the latest cut point that fits (binary search)."""

    def fits(shown_input: str) -> bool:
        candidate = replace(prompt, input=shown_input)
        used = tokens.count(candidate.prefix) + tokens.count(candidate.query)
        return used + tokens.count(candidate.completion) <= budget

    if fits(prompt.input):
        return prompt
    cuts = tokens.cut_points(prompt.input)
    # invariant: cutting at cuts[low] fits (low = -1: the empty input, checked by the
    # group), cutting at cuts[high] does not (the whole input, just checked)
    low, high = -1, len(cuts) - 1
    while high - low > 1:
        middle = (low + high) // 2
        if fits(prompt.input[: cuts[middle]].rstrip()):
            low = middle
        else:
            high = middle
    kept = prompt.input[: cuts[low]].rstrip() if low >= 0 else ""
    return replace(prompt, input=kept)
