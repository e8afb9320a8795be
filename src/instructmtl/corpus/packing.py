"""Packing documents into fixed-length token blocks for causal language modelling.

Packing (documents concatenated, each ended by EOS, then cut into equal
blocks) wastes no compute on padding, which matters on a CPU; it is how
GPT-2, nanoGPT and most pretraining pipelines feed a decoder. The cut falls
anywhere, so a document may straddle two blocks, and the model learns that
EOS starts a new document.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import torch
from transformers import PreTrainedTokenizerBase

from instructmtl.corpus.source import CorpusSource
from instructmtl.errors import ConfigError


def document_ids(text: str, tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """The token ids of one document as it is packed: the tokenizer's own special tokens, then EOS.

    The tokenizer adds what it adds to any input (the built-in and Llama tokenizers prepend BOS),
    so a packed document starts the way an evaluation prompt does.

    Raises:
        ConfigError: when the tokenizer has no EOS token to separate documents.
    """
    eos = tokenizer.eos_token_id
    if eos is None:
        raise ConfigError(f"tokenizer {tokenizer.name_or_path!r} has no eos_token; packing needs one between documents")
    # verbose=False: a document may be longer than the model context; packing cuts it into blocks
    ids: list[int] = tokenizer(text, add_special_tokens=True, verbose=False)["input_ids"]
    if not ids or ids[-1] != eos:
        ids.append(eos)
    return ids


def document_stream(source: CorpusSource, seed: int, passes: int | None = None) -> Iterator[str]:
    """The documents in the order :func:`packed_blocks` reads them for ``seed``: pass after pass.

    Kept apart from the packing so that an audit (the leakage scan) reads exactly
    the documents a run trained on, drawn from the same ``random.Random(seed)``.

    Args:
        source: where the documents come from.
        seed: seeds the RNG that orders (or generates) the documents.
        passes: how many passes over a finite source; ``None`` means endlessly.
            Ignored by endless sources.

    Raises:
        ConfigError: when a pass yields no document.
    """
    rng = random.Random(seed)
    done = 0
    while passes is None or done < passes or not source.finite:
        n_docs = 0
        for doc in source.documents(rng):
            n_docs += 1
            yield doc
        if n_docs == 0:
            raise ConfigError("the corpus yielded no documents; check its paths, field or column")
        done += 1


def packed_blocks(
    source: CorpusSource,
    tokenizer: PreTrainedTokenizerBase,
    block_len: int,
    seed: int,
    passes: int | None = None,
) -> Iterator[torch.Tensor]:
    """Yields ``block_len``-long blocks of token ids, documents joined with EOS.

    The same ``source``, tokenizer, ``block_len`` and ``seed`` always give the same
    blocks: all randomness (document order, generated content) comes from one
    ``random.Random(seed)`` (see :func:`document_stream`). A finite source is read
    again, reshuffled, after each pass; the tokens left over at the very end (less
    than one block) are dropped.

    Args:
        source: where the documents come from.
        tokenizer: turns a document into ids; must have an EOS token.
        block_len: tokens per block.
        seed: seeds the RNG that orders (or generates) the documents.
        passes: how many passes over a finite source; ``None`` means endlessly.
            Ignored by endless sources.

    Yields:
        1-D ``torch.long`` tensors of exactly ``block_len`` ids.

    Raises:
        ConfigError: when ``block_len`` < 1, the tokenizer has no EOS, or a pass yields no document.
    """
    if block_len < 1:
        raise ConfigError(f"block_len must be at least 1, got {block_len}")
    buffer: list[int] = []
    for doc in document_stream(source, seed, passes):
        buffer.extend(document_ids(doc, tokenizer))
        while len(buffer) >= block_len:
            yield torch.tensor(buffer[:block_len], dtype=torch.long)
            del buffer[:block_len]
