"""The built-in base model: its own BPE tokenizer, Llama-style presets and the pretraining recipe.

Once trained and saved, the built-in model is an ordinary Hugging Face model
directory; nothing downstream treats it differently from a hub model. Its ICL probe,
which scores with the evaluation code, is :mod:`instructmtl.evaluation.probe`.
"""

from instructmtl.models.builtin.presets import MICRO, SMALL, TINY, Precision, Preset
from instructmtl.models.builtin.recipe import (
    METADATA_FILE,
    RECIPE_VERSION,
    BaseMetadata,
    PretrainRecipe,
    recipe_key,
)
from instructmtl.models.builtin.tokenizer import train_tokenizer
from instructmtl.models.builtin.train import build_model, pretrain_model, save_base
from instructmtl.registry import Registry

#: Model sizes by name; filled here, explicitly.
PRESETS: Registry[Preset] = Registry("model preset")
for _preset in (MICRO, TINY, SMALL):
    PRESETS.add(_preset.name, _preset)

__all__ = [
    "METADATA_FILE",
    "PRESETS",
    "RECIPE_VERSION",
    "BaseMetadata",
    "Precision",
    "Preset",
    "PretrainRecipe",
    "build_model",
    "pretrain_model",
    "recipe_key",
    "save_base",
    "train_tokenizer",
]
