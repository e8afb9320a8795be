"""Training the built-in model's own byte-level BPE tokenizer with ``tokenizers``.

Why its own tokenizer: a general-purpose vocabulary (32k-150k pieces) would
make the output layer of a few-million-parameter model most of its weights
and most of its compute. A BPE of 1-4k pieces trained on the built-in corpus
covers it compactly, and byte-level BPE can still spell any text, so the same
model reads real SNI data (just in more tokens).

Digits are split one by one (as Llama and SmolLM do): list and arithmetic tasks
then see every number through the same ten tokens, so a pattern learnt on
``12`` carries over to ``47``.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

PAD_TOKEN = "<|pad|>"
BOS_TOKEN = "<|bos|>"
EOS_TOKEN = "<|eos|>"
SPECIAL_TOKENS = (PAD_TOKEN, BOS_TOKEN, EOS_TOKEN)


def train_tokenizer(texts: Iterable[str], vocab_size: int, context_len: int) -> PreTrainedTokenizerFast:
    """Trains a byte-level BPE on ``texts`` and wraps it for ``transformers``.

    Encoding with special tokens prepends BOS (Llama's convention), which is
    what packing and evaluation prompts both get from ``tokenizer(text)``.

    Args:
        texts: the training documents (a sample of the corpus is enough).
        vocab_size: the target vocabulary size, special tokens and the 256 byte symbols included.
        context_len: stored as ``model_max_length`` so truncation knows the model's limit.

    Returns:
        A fast tokenizer with ``bos``/``eos``/``pad`` tokens set, ready for ``save_pretrained``.
    """
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    bos_id = tok.token_to_id(BOS_TOKEN)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS_TOKEN} $A", pair=f"{BOS_TOKEN} $A {BOS_TOKEN} $B", special_tokens=[(BOS_TOKEN, bos_id)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        model_max_length=context_len,
    )
