"""Loading any causal LM and its tokenizer from a :class:`ModelSpec`.

One code path serves hub ids, local HF directories and GGUF files: they all go
through ``AutoModelForCausalLM.from_pretrained`` / ``AutoTokenizer.from_pretrained``.

Padding policy (the one place it is decided):

* A tokenizer without a pad token gets its EOS token as pad (or UNK when it
  has no EOS). No new token is added, so the embedding matrix keeps its size
  and a checkpoint stays loadable by the original architecture. Because pad
  may then equal EOS, collators must mask labels by ``attention_mask``, never
  by ``pad_token_id`` (the EOS that ends a target has to be learned).
* The tokenizer of a :class:`LoadedModel` pads on the right, as training
  wants (positions line up with the labels). Batched generation needs left
  padding, so the last prompt token of every row sits at the end; get that
  tokenizer with :func:`with_padding_side`, which returns a copy so the two
  uses never change each other's state.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass
from typing import Any, Literal

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig, PreTrainedModel, PreTrainedTokenizerBase

from instructmtl.errors import ConfigError
from instructmtl.models.sources import Location, resolve_model_location, resolve_tokenizer_location
from instructmtl.models.spec import Device, Dtype, ModelSpec

PaddingSide = Literal["left", "right"]

_DTYPES: dict[Dtype, torch.dtype | str] = {
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
    "auto": "auto",
}

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for use, with the tokenizer that belongs to it.

    Attributes:
        model: the causal LM, in eval mode, on ``device``, with plain
            (never quantized) parameters.
        tokenizer: its tokenizer, with a pad token and right padding.
        source: where the weights came from.
        tokenizer_source: where the tokenizer came from.
        device: the device the model was moved to.
    """

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    source: Location
    tokenizer_source: Location
    device: torch.device


def load_model(spec: ModelSpec) -> LoadedModel:
    """Loads the causal LM and tokenizer that ``spec`` names.

    GGUF weights are dequantized into ``spec.dtype`` at load time, and the
    quantizer marking transformers attaches to GGUF models is dropped by
    transformers itself (``GgufConfig(dequantize=True)``): the result is an
    ordinary dense model that trains, and saves with ``save_pretrained``,
    like any other.

    Args:
        spec: which model, and how to place it.

    Returns:
        The model in eval mode on the chosen device, and its right-padding
        tokenizer.

    Raises:
        ConfigError: the location, dtype or device cannot be used (one line).
    """
    source = resolve_model_location(spec)
    device = resolve_device(spec.device)
    tokenizer = load_tokenizer(spec, padding_side="right")
    started = time.perf_counter()
    model = _from_pretrained(AutoModelForCausalLM, source, "model.name_or_path", _weight_kwargs(spec, source))
    model.to(device)
    model.eval()
    if model.generation_config.pad_token_id is None:
        # generate() would otherwise warn on every call and guess the EOS id.
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    logger.info("loaded %s in %.1f s (%s, %s)", source, time.perf_counter() - started, model.dtype, device)
    return LoadedModel(model, tokenizer, source, resolve_tokenizer_location(spec), device)


def load_tokenizer(spec: ModelSpec, padding_side: PaddingSide) -> PreTrainedTokenizerBase:
    """Loads the tokenizer of ``spec``, with a pad token and the given padding side.

    Args:
        spec: the model spec (``spec.tokenizer`` overrides where it comes from).
        padding_side: ``"right"`` for training, ``"left"`` for batched generation.

    Returns:
        The tokenizer.

    Raises:
        ConfigError: the location cannot be used, or the tokenizer has none of
            pad, EOS and UNK tokens.
    """
    location = resolve_tokenizer_location(spec)
    kwargs: dict[str, Any] = {"trust_remote_code": spec.trust_remote_code}
    if location.gguf_file is not None:
        kwargs["gguf_file"] = location.gguf_file
    if spec.revision is not None and spec.tokenizer is None:
        # The revision pins the model repo; an override tokenizer is another repo.
        kwargs["revision"] = spec.revision
    field = "model.name_or_path" if spec.tokenizer is None else "model.tokenizer"
    tokenizer = _from_pretrained(AutoTokenizer, location, field, kwargs)
    _ensure_pad_token(tokenizer, location)
    return with_padding_side(tokenizer, padding_side)


def with_padding_side(tokenizer: PreTrainedTokenizerBase, side: PaddingSide) -> PreTrainedTokenizerBase:
    """A copy of ``tokenizer`` that pads on ``side``; the original is untouched.

    Args:
        tokenizer: any HF tokenizer.
        side: ``"left"`` (batched generation) or ``"right"`` (training).

    Returns:
        A new tokenizer object.
    """
    if side not in ("left", "right"):
        raise ConfigError(f"padding side must be 'left' or 'right', not '{side}'")
    copied = copy.deepcopy(tokenizer)
    copied.padding_side = side
    return copied


def resolve_device(device: Device) -> torch.device:
    """The torch device a spec's ``device`` means on this machine.

    Raises:
        ConfigError: ``"cuda"`` was asked for and no CUDA device is present.
    """
    cuda = torch.cuda.is_available()
    if device == "cuda" and not cuda:
        raise ConfigError("model.device: 'cuda' was asked for but no CUDA device is available; use 'cpu' or 'auto'")
    if device == "auto":
        return torch.device("cuda" if cuda else "cpu")
    return torch.device(device)


def _from_pretrained(auto_class: Any, location: Location, field: str, kwargs: dict[str, Any]) -> Any:
    """Calls ``auto_class.from_pretrained``, turning its OSErrors into one line.

    Repo not found, hub unreachable and missing files arrive as multi-line
    OSErrors; the CLI prints only one line, so the first one is kept.
    """
    try:
        return auto_class.from_pretrained(location.path_or_id, **kwargs)
    except OSError as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(
            f"{field}: cannot load '{location}': {first_line}; fix: check the name, the network "
            f"(or HF_HUB_OFFLINE=1 with a filled cache), or use a local directory"
        ) from err


def _weight_kwargs(spec: ModelSpec, source: Location) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"dtype": _DTYPES[spec.dtype], "trust_remote_code": spec.trust_remote_code}
    if spec.revision is not None:
        kwargs["revision"] = spec.revision
    if source.gguf_file is None:
        # Refuses pickled .bin checkpoints from the hub too (local dirs are checked earlier).
        kwargs["use_safetensors"] = True
    else:
        kwargs["gguf_file"] = source.gguf_file
        # Without dequantize=True transformers keeps the model marked as quantized
        # (hf_quantizer, config.quantization_config) even when it already unpacked the
        # weights, and then save_pretrained refuses it and trainers treat it as frozen.
        kwargs["quantization_config"] = GgufConfig(dequantize=True)
    return kwargs


def _ensure_pad_token(tokenizer: PreTrainedTokenizerBase, location: Location) -> None:
    if tokenizer.pad_token is not None:
        return
    if tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    elif tokenizer.unk_token is not None:
        tokenizer.pad_token = tokenizer.unk_token
    else:
        raise ConfigError(f"model.tokenizer: {location} has no pad, eos or unk token; give it one of them")
