"""Prompts → token ids with a loss mask on the target: what instruction-tuning trains on.

The token ids are those of the prompt's pieces tokenized one by one (prefix,
query, completion), the rule :mod:`instructmtl.prompts` documents and the
evaluation's prefix cache uses; training on the same segmentation the model is
scored on keeps target NLLs comparable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

from instructmtl.errors import PromptTooLongError
from instructmtl.prompts import Prompt

IGNORE_INDEX = -100


@dataclass(frozen=True, slots=True)
class TrainExample:
    """One tokenized example: ``input_ids`` with the target starting at ``target_start``.

    Attributes:
        task: the task it comes from.
        group: its gradient group (the task, or its category).
        input_ids: prompt ids followed by target ids.
        target_start: index of the first target token; the loss covers ``[target_start:]``.
    """

    task: str
    group: str
    input_ids: tuple[int, ...]
    target_start: int

    @property
    def n_target_tokens(self) -> int:
        """How many tokens the loss covers."""
        return len(self.input_ids) - self.target_start


def bos_ids(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """The BOS token the tokenizer puts in front of a text, if it does (Llama does, GPT-2 does not)."""
    with_special = tokenizer("a", add_special_tokens=True)["input_ids"]
    without = tokenizer("a", add_special_tokens=False)["input_ids"]
    return list(with_special[: len(with_special) - len(without)]) if with_special[-len(without):] == without else []


def tokenize_prompt(
    prompt: Prompt, group: str, tokenizer: PreTrainedTokenizerBase, max_length: int, prefix_bos: Sequence[int]
) -> TrainExample:
    """Tokenizes one prompt and its completion.

    Args:
        prompt: the encoded instance (already fitted to the context by the caller).
        group: its gradient group.
        tokenizer: the model's tokenizer.
        max_length: the context budget.
        prefix_bos: the ids to put first (see :func:`bos_ids`).

    Raises:
        PromptTooLongError: when prompt and target exceed ``max_length``; the caller
            fits prompts first (:func:`instructmtl.prompts.fit_to_context`), so this
            only fires for a target that alone is too long.
    """
    encode = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    context = list(prefix_bos) + encode(prompt.prefix) + encode(prompt.query)
    target = encode(prompt.completion)
    if len(context) + len(target) > max_length:
        raise PromptTooLongError(
            f"task '{prompt.task}' instance '{prompt.instance_id}': {len(context) + len(target)} tokens "
            f"exceed max_length {max_length}; raise data.max_length or lower the demonstrations"
        )
    return TrainExample(prompt.task, group, tuple(context + target), len(context))
