"""Prompts → token ids with a loss mask on the target: what instruction-tuning trains on.

The token ids follow the evaluation scorers' rule (lm-evaluation-harness's), so
training sees the segmentation the model is scored on and target NLLs compare.
"""

from __future__ import annotations

from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

from instructmtl.errors import PromptTooLongError
from instructmtl.prompts import Prompt
from instructmtl.tokenized.encode import encode_choices

IGNORE_INDEX = -100


@dataclass(frozen=True, slots=True)
class TrainExample:
    """One tokenized example: ``input_ids`` with the target starting at ``target_start``.

    Attributes:
        task: the task it comes from.
        group: its gradient group (the task, or its category).
        input_ids: prompt ids followed by target ids.
        target_start: index of the first target token; the loss covers ``[target_start:]``.
        content_end: index of the first end-of-target-marker token: ``[target_start:content_end]``
            are the content tokens, the token set every evaluation NLL is measured on, and
            ``[content_end:]`` the marker that teaches the model where an output stops
            (``None``: no marker, every target token is content).
        instance_id: the instance it encodes, so a run can record which instances it trained on.
    """

    task: str
    group: str
    input_ids: tuple[int, ...]
    target_start: int
    content_end: int | None = None
    instance_id: str = ""

    @property
    def n_target_tokens(self) -> int:
        """How many tokens the loss covers."""
        return len(self.input_ids) - self.target_start

    @property
    def n_marker_tokens(self) -> int:
        """How many of the target tokens are the end-of-target marker (trained, but not content)."""
        return 0 if self.content_end is None else len(self.input_ids) - self.content_end


def tokenize_prompt(prompt: Prompt, group: str, tokenizer: PreTrainedTokenizerBase, max_length: int) -> TrainExample:
    """Tokenizes one prompt and its completion exactly as the evaluation scorers read them.

    The ids are lm-evaluation-harness's split of ``text + completion`` (see
    :func:`instructmtl.tokenized.encode.encode_pair`), with no BOS, so a
    model is trained on the very segmentation it is scored on.

    Args:
        prompt: the encoded instance (already fitted to the context by the caller).
        group: its gradient group.
        tokenizer: the model's tokenizer.
        max_length: the context budget.

    Raises:
        PromptTooLongError: when the target alone does not fit. A prompt that
            :func:`~instructmtl.prompts.fit_to_context` fitted piece by piece can come
            out a token or two longer as one string; those few tokens are cut from
            the start of the prompt, never from the target.
    """
    context, (target, content) = encode_choices(tokenizer, prompt.text, [prompt.completion, prompt.target])
    if len(target) >= max_length:
        raise PromptTooLongError(
            f"task '{prompt.task}' instance '{prompt.instance_id}': its target alone has {len(target)} tokens, "
            f"more than max_length {max_length}; raise data.max_length"
        )
    context = context[max(0, len(context) + len(target) - max_length) :]
    # the content tokens are those the target alone encodes to; when the marker merges with the
    # target's last token (no BPE merge does this for "\n" in our tokenizers), the merged token
    # counts as marker, so the content NLL never includes a token that is partly marker
    n_content = 0
    while n_content < min(len(content), len(target)) and content[n_content] == target[n_content]:
        n_content += 1
    start = len(context)
    return TrainExample(prompt.task, group, tuple(context + target), start, start + n_content, prompt.instance_id)
