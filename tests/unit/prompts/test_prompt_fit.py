"""fit_to_context: demonstrations go first (per task), then input tokens; targets never."""

from __future__ import annotations

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from instructmtl.errors import PromptTooLongError
from instructmtl.prompts import Prompt, TaskPrompter, fit_to_context, parse_encoding
from instructmtl.tasks.schema import Example, Instance, Task

LONG_INPUT = " ".join(f"w{i}" for i in range(100))


def words(text: str) -> int:
    """The simplest token counter: whitespace-separated words."""
    return len(text.split())


def used(prompt: Prompt, count) -> int:
    return count(prompt.prefix) + count(prompt.query) + count(prompt.completion)


def make_task(name: str, inputs: list[str], target: str = "yes") -> Task:
    return Task(
        name=name,
        definition="Answer yes.",
        positive_examples=(Example("is the sky blue", "yes"), Example("is grass green", "yes")),
        instances=tuple(Instance(f"{name}-{i}", text, (target,)) for i, text in enumerate(inputs)),
    )


def encode_all(task: Task, name: str = "def+pos-2") -> tuple[Prompt, ...]:
    return TaskPrompter(task, parse_encoding(name), seed=0).encode_all(task.instances)


def test_nothing_changes_when_everything_fits() -> None:
    prompts = encode_all(make_task("task1_fits", ["a b", "c d e"]))
    fitted, report = fit_to_context(prompts, words, max_tokens=10_000)
    assert fitted == prompts
    assert (report.prompts_changed, report.inputs_trimmed, report.demos_dropped) == (0, 0, {})


def test_demonstrations_are_dropped_before_any_input_is_trimmed() -> None:
    prompts = encode_all(make_task("task2_drop", ["a b", "c d e f"]))
    one_demo = words(prompts[0].header + prompts[0].demonstrations[0])
    longest = max(words(p.query) + words(p.completion) for p in prompts)
    fitted, report = fit_to_context(prompts, words, max_tokens=one_demo + longest)
    assert [len(p.demonstrations) for p in fitted] == [1, 1]
    assert [p.input for p in fitted] == [p.input for p in prompts]
    assert [p.target for p in fitted] == [" yes", " yes"]
    assert fitted[0].demonstrations == prompts[0].demonstrations[:1]  # the last one went
    assert report.demos_dropped == {("task2_drop", "def+pos-2"): 1}
    assert (report.prompts_changed, report.inputs_trimmed) == (2, 0)
    assert "1 demonstrations dropped in 1 tasks, 0 inputs trimmed" in report.summary()


def test_one_instance_that_fits_only_without_demonstrations_sets_the_task_prefix() -> None:
    # the second instance fits untrimmed with 0 demonstrations only: the whole task drops both,
    # so that no input is trimmed and all instances keep one shared prefix
    prompts = encode_all(make_task("task3_outlier", ["a b", " ".join(["x"] * 30)]))
    budget = used(prompts[1], words) - words(prompts[1].prefix) + words(prompts[1].header)
    fitted, report = fit_to_context(prompts, words, max_tokens=budget)
    assert [len(p.demonstrations) for p in fitted] == [0, 0]
    assert [p.input for p in fitted] == [p.input for p in prompts]
    assert report.demos_dropped == {("task3_outlier", "def+pos-2"): 2}


def test_an_input_too_long_anyway_is_trimmed_by_words_and_demonstrations_stay() -> None:
    prompts = encode_all(make_task("task4_trim", ["a b", LONG_INPUT]))
    budget = used(prompts[0], words) + 10  # room for 2 + 10 input words
    fitted, report = fit_to_context(prompts, words, max_tokens=budget)
    assert fitted[0] == prompts[0]
    trimmed = fitted[1]
    assert trimmed.demonstrations == prompts[1].demonstrations
    assert trimmed.target == " yes"
    assert LONG_INPUT.startswith(trimmed.input) and trimmed.input.endswith(" w11")
    assert used(trimmed, words) <= budget
    one_more = LONG_INPUT[: len(trimmed.input) + 4]  # the next word
    assert one_more.endswith(" w12")
    assert used(Prompt(**{**_fields(trimmed), "input": one_more}), words) > budget
    assert (report.prompts_changed, report.inputs_trimmed, report.demos_dropped) == (1, 1, {})


def test_target_is_never_trimmed() -> None:
    target = " ".join(["yes"] * 40)
    prompts = encode_all(make_task("task5_target", ["a b c d"], target=target))
    header_only = words(prompts[0].header) + words(Prompt(**{**_fields(prompts[0]), "input": ""}).query)
    fitted, report = fit_to_context(prompts, words, max_tokens=header_only + 41)
    assert fitted[0].target == " " + target
    assert fitted[0].demonstrations == ()
    assert fitted[0].input == "a b"  # one word of slack: "Input: a b." fits, "Input: a b c." not
    assert report.inputs_trimmed == 1


def test_impossible_prompt_names_task_instance_and_fix() -> None:
    prompts = encode_all(make_task("task6_impossible", ["a"], target=" ".join(["yes"] * 40)))
    expected = "task6_impossible.*task6_impossible-0.*raise the max length"
    with pytest.raises(PromptTooLongError, match=expected):
        fit_to_context(prompts, words, max_tokens=30)


def test_each_task_keeps_its_own_shared_prefix() -> None:
    small = encode_all(make_task("task7_small", ["a", "b"]))
    big = encode_all(make_task("task8_big", ["a", " ".join(["z"] * 12)]))
    budget = max(used(p, words) for p in small)
    fitted, report = fit_to_context(small + big, words, max_tokens=budget)
    assert fitted[:2] == small
    assert len({p.prefix for p in fitted[2:]}) == 1
    assert set(report.demos_dropped) == {("task8_big", "def+pos-2")}
    assert all(used(p, words) <= budget for p in fitted)


def _fields(prompt: Prompt) -> dict:
    return {name: getattr(prompt, name) for name in Prompt.__dataclass_fields__}


@pytest.fixture(scope="module")
def bpe_tokenizer() -> PreTrainedTokenizerFast:
    """A GPT-2-like byte-level BPE tokenizer with a BOS token, trained here in milliseconds."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<s>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    corpus = ["Definition: Answer yes. Positive Example 1 - Input: is the sky blue. Output: yes.\n"] * 20
    tok.train_from_iterator(corpus + [LONG_INPUT] * 5, trainer)
    bos = tok.token_to_id("<s>")
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", bos)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>")


def test_hf_tokenizer_counts_tokens_and_reserves_bos(bpe_tokenizer: PreTrainedTokenizerFast) -> None:
    def count(text: str) -> int:
        return len(bpe_tokenizer(text, add_special_tokens=False)["input_ids"])

    prompts = encode_all(make_task("task9_bpe", ["is the sky blue", LONG_INPUT]))
    budget = used(prompts[0], count) + 1 + 15  # +1: the BOS token the tokenizer adds
    fitted, report = fit_to_context(prompts, bpe_tokenizer, max_tokens=budget)
    assert fitted[0] == prompts[0]
    trimmed = fitted[1]
    assert trimmed.demonstrations == prompts[1].demonstrations and trimmed.target == " yes"
    assert LONG_INPUT.startswith(trimmed.input) and len(trimmed.input) < len(LONG_INPUT)
    assert used(trimmed, count) + 1 <= budget
    # maximal: the next token of the input would not fit
    ends = [end for _, end in bpe_tokenizer(LONG_INPUT, return_offsets_mapping=True)["offset_mapping"]]
    next_end = min(end for end in ends if end > len(trimmed.input))
    longer = Prompt(**{**_fields(trimmed), "input": LONG_INPUT[:next_end]})
    assert used(longer, count) + 1 > budget
    assert report.inputs_trimmed == 1


def test_hf_tokenizer_drops_demonstrations_first(bpe_tokenizer: PreTrainedTokenizerFast) -> None:
    def count(text: str) -> int:
        return len(bpe_tokenizer(text, add_special_tokens=False)["input_ids"])

    prompts = encode_all(make_task("task10_bpe", ["is the sky blue", "is grass green"]), "pos-2")
    budget = max(used(p, count) for p in prompts)  # no room for BOS: one demonstration must go
    fitted, report = fit_to_context(prompts, bpe_tokenizer, max_tokens=budget)
    assert [len(p.demonstrations) for p in fitted] == [1, 1]
    assert [p.input for p in fitted] == [p.input for p in prompts]
    assert report.demos_dropped == {("task10_bpe", "pos-2"): 1}
