"""The text layout of a prompt: Tk-Instruct's, piece by piece.

Super-NaturalInstructions models (Tk-Instruct, Wang et al. 2022) were trained
and evaluated with one layout, written by ``DataCollatorForNI`` in
allenai/tk-instruct ``src/ni_collator.py``. Matching it character for character
keeps our ``def+pos-2`` numbers comparable with the SNI literature. The facts
this module reproduces (own code, not a copy):

* definition: ``"Definition: " + definition.strip()``, a ``"."`` appended when
  the text does not already end in ``string.punctuation``, then ``"\\n\\n"``;
* positive example ``i`` (1-based): ``" Positive Example i -\\n"``, then
  ``"Input: " + input.strip()`` (period rule) ``+ "\\n"``, then
  ``" Output: " + output.strip()`` (period rule) ``+ "\\n"``, then ``"\\n"``;
  note the leading spaces before ``Positive`` and ``Output`` and none before
  ``Input``;
* the instance: ``"Now complete the following example -\\n"``, then
  ``"Input: " + input.strip()`` (period rule) ``+ "\\n"``, then ``"Output: "``;
* the source is ``definition + demonstrations + instance`` with nothing in
  between; the label is an output as it stands (Tk-Instruct picks one at random;
  we take the first, so that a run is deterministic and every model is scored
  against the same target).

One deliberate deviation, for decoder-only causal LMs: Tk-Instruct's source ends
in ``"Output: "`` because an encoder-decoder model never sees the space and the
label together. A byte-level BPE tokenizer (GPT-2, Llama, SmolLM2, ours) spells
a word with its leading space as one token (``" yes"``), so a prompt ending in a
lone ``" "`` token would ask the model to continue with a space-less word piece it
rarely saw in pretraining. Here the query ends in ``"Output:"`` and the space
starts the target (:data:`TARGET_SEPARATOR`); ``prompt + target`` is still
exactly Tk-Instruct's ``source + label``.

The demonstrations' outputs get a period by the rule above while the target does
not (as in Tk-Instruct). Metrics normalise punctuation away (SNI's ROUGE-L and
exact match do), so this only matters for target NLL, where it is the same for
every model compared.
"""

from __future__ import annotations

import hashlib
import string

from instructmtl.tasks.schema import Example, Task

#: Starts every target: the space Tk-Instruct leaves at the end of "Output: ".
TARGET_SEPARATOR = " "

#: Ends every target in training text and ends generation at evaluation. A
#: newline, not the tokenizer's EOS: demonstrations in the prompt end their
#: output line with a newline too, so a model that learned in context where an
#: output stops also knows this marker, and every tokenizer has one (not every
#: tokenizer has an EOS).
END_OF_TARGET = "\n"

QUERY_INTRO = "Now complete the following example -\n"
QUERY_OUTPUT = "Output:"

# 32 bits of a hash: collisions among the ~1,600 SNI tasks have probability ~3e-4.
_IDENTIFIER_HEX_DIGITS = 8


def punctuate(line: str) -> str:
    """Appends a period unless ``line`` already ends in ASCII punctuation (Tk-Instruct's rule)."""
    if line and line[-1] in string.punctuation:
        return line
    return line + "."


def task_identifier(task_name: str) -> str:
    """A short, stable identifier for a task, derived from its name.

    Why not the name itself: task names describe the task
    (``task1146_country_capital``, ``builtin042_list_reverse``), so they would be
    a small definition and the ``id`` encoding would no longer be "no definition".

    Returns:
        ``"task-"`` followed by the first 8 hex digits of the name's SHA-256.
    """
    digest = hashlib.sha256(task_name.encode("utf-8")).hexdigest()
    return "task-" + digest[:_IDENTIFIER_HEX_DIGITS]


def identifier_header(task: Task) -> str:
    """The ``id`` encoding's header: ``"Task: task-xxxxxxxx.\\n\\n"``.

    Laid out like the definition header (Tk-Instruct's own task-name option puts
    ``"name. "`` before the query instead) so that every shared prefix ends at a
    line break, a clean place to split tokenization for a prefix KV cache.
    """
    return punctuate("Task: " + task_identifier(task.name)) + "\n\n"


def definition_header(task: Task) -> str:
    """Tk-Instruct's definition block: ``"Definition: <text>.\\n\\n"``."""
    return punctuate("Definition: " + task.definition.strip()) + "\n\n"


def no_header(task: Task) -> str:
    """The empty header of encodings that show only demonstrations."""
    del task  # same signature as the other headers
    return ""


def demonstration_block(index: int, example: Example) -> str:
    """Tk-Instruct's positive-example block, numbered from 1.

    Args:
        index: the 1-based position of the demonstration in the prompt.
        example: the demonstration.
    """
    head = f" Positive Example {index} -\n"
    shown_input = punctuate("Input: " + example.input.strip()) + "\n"
    shown_output = punctuate(" Output: " + example.output.strip()) + "\n"
    return head + shown_input + shown_output + "\n"


def query_text(shown_input: str) -> str:
    """The instance part of a prompt, ending right before the target.

    Args:
        shown_input: the instance input, already stripped (and maybe trimmed).
    """
    return QUERY_INTRO + punctuate("Input: " + shown_input) + "\n" + QUERY_OUTPUT


def target_text(output: str) -> str:
    """The text a model must produce after the query: separator plus the stripped output."""
    return TARGET_SEPARATOR + output.strip()


def cut_generation(generated: str) -> str:
    """The prediction inside a model's continuation of a prompt.

    Evaluation scores this against the references; it stops at
    :data:`END_OF_TARGET`, the marker training appends to every target.
    """
    return generated.split(END_OF_TARGET, 1)[0].strip()
