"""The built-in BPE tokenizer: lossless, digit-wise, BOS-prefixed, and an ordinary HF tokenizer on disk."""

from __future__ import annotations

from transformers import AutoTokenizer

from instructmtl.models.builtin import train_tokenizer
from instructmtl.models.builtin.tokenizer import BOS_TOKEN, EOS_TOKEN, PAD_TOKEN

TEXTS = ["Dailvus lives in Lazos.", "Input: [12, 345]\nOutput: [345, 12]", "hello world -> dlrow olleh"] * 30


def test_round_trip_is_lossless_even_for_unseen_text():
    tok = train_tokenizer(TEXTS, vocab_size=320, context_len=128)
    for text in ["Zqx ünïcødé 漢字\t tabs  and  spaces\n", "[99, 0, -7]"]:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert tok.decode(ids) == text


def test_special_tokens_and_bos_prefix():
    tok = train_tokenizer(TEXTS, vocab_size=320, context_len=128)
    assert (tok.bos_token, tok.eos_token, tok.pad_token) == (BOS_TOKEN, EOS_TOKEN, PAD_TOKEN)
    assert len({tok.bos_token_id, tok.eos_token_id, tok.pad_token_id}) == 3
    ids = tok("Lazos")["input_ids"]
    assert ids[0] == tok.bos_token_id and tok.bos_token_id not in tok("Lazos", add_special_tokens=False)["input_ids"]
    assert tok.model_max_length == 128


def test_digits_are_split_one_by_one():
    tok = train_tokenizer(TEXTS * 5, vocab_size=400, context_len=128)
    pieces = tok.tokenize("[12, 345]")
    digits = [p for p in pieces if any(c.isdigit() for c in p)]
    assert digits == ["1", "2", "3", "4", "5"]


def test_vocab_size_is_respected_and_it_saves_as_a_plain_hf_tokenizer(tmp_path):
    tok = train_tokenizer(TEXTS, vocab_size=300, context_len=64)
    assert len(tok) <= 300
    tok.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    text = "Output: [345, 12]"
    assert loaded(text)["input_ids"] == tok(text)["input_ids"]
    assert loaded.eos_token_id == tok.eos_token_id and loaded.pad_token_id == tok.pad_token_id
