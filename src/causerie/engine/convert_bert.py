"""Convert a sentence-transformers BERT folder (safetensors + WordPiece vocab) to a GGUF
file that llama.cpp loads as architecture `bert`, with the folder's pooling (mean, CLS).

Tensor names come from the `gguf` package's own name map, the vocabulary from vocab.txt
in id order (sub-words lose their `##`, words gain the phantom space `▁`, as llama.cpp's
WordPiece tokenizer expects). Weights stay float32 unless `f16` is asked.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from causerie.core.errors import ConfigurationError

_DROPPED = ("embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias")
_SPECIAL = ("bos", "unk", "sep", "pad", "mask")  # [CLS] is BOS; [SEP] ends an input
_POOLING = {"pooling_mode_mean_tokens": "MEAN", "pooling_mode_cls_token": "CLS"}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from exc
    return data


def pooling_of(source: Path) -> str:
    """The pooling named by the sentence-transformers modules (MEAN when none is given)."""
    modules_file = source / "modules.json"
    if not modules_file.is_file():
        return "MEAN"
    modules = json.loads(modules_file.read_text(encoding="utf-8"))
    for module in modules:
        if str(module.get("type", "")).endswith("Pooling"):
            config = _read_json(source / module["path"] / "config.json")
            for key, name in _POOLING.items():
                if config.get(key):
                    return name
            raise ConfigurationError(f"unsupported pooling in {source}: {config}")
    return "MEAN"


def _vocabulary(source: Path) -> tuple[list[str], list[int]]:
    import gguf

    words = (source / "vocab.txt").read_text(encoding="utf-8").split("\n")
    if words and words[-1] == "":
        words.pop()
    special = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
    tokens: list[str] = []
    types: list[int] = []
    for word in words:
        if word in special:
            tokens.append(word)
            types.append(int(gguf.TokenType.CONTROL))
        else:
            tokens.append(word[2:] if word.startswith("##") else "\u2581" + word)
            types.append(int(gguf.TokenType.NORMAL))
    return tokens, types


def convert_bert(source: Path, out: Path, *, f16: bool = False) -> Path:
    """Write `out` from the BERT folder `source`; returns `out` (written atomically)."""
    import gguf
    from safetensors.numpy import load_file

    logging.getLogger("gguf").setLevel(logging.WARNING)  # its writer narrates every key
    config = _read_json(source / "config.json")
    if config.get("model_type") != "bert":
        raise ConfigurationError(f"{source} is not a BERT model (model_type is not 'bert')")
    weights_file = source / "model.safetensors"
    if not weights_file.is_file() or not (source / "vocab.txt").is_file():
        raise ConfigurationError(f"{source} needs model.safetensors and vocab.txt")
    weights = load_file(str(weights_file))
    layers = int(config["num_hidden_layers"])
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, layers)
    tokens, types = _vocabulary(source)

    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f"{out.name}.{os.getpid()}.part")
    writer = gguf.GGUFWriter(str(partial), "bert")
    writer.add_name(config.get("_name_or_path") or source.name)
    writer.add_block_count(layers)
    writer.add_context_length(int(config["max_position_embeddings"]))
    writer.add_embedding_length(int(config["hidden_size"]))
    writer.add_feed_forward_length(int(config["intermediate_size"]))
    writer.add_head_count(int(config["num_attention_heads"]))
    writer.add_layer_norm_eps(float(config.get("layer_norm_eps", 1e-12)))
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType[pooling_of(source)])
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if f16 else gguf.LlamaFileType.ALL_F32)
    writer.add_token_type_count(int(config.get("type_vocab_size", 1)))
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    special = gguf.SpecialVocab(
        source, load_merges=False, special_token_types=_SPECIAL, n_vocab=len(tokens)
    )
    special.add_to_gguf(writer)

    for name, tensor in weights.items():
        name = name.removeprefix("bert.")
        if name in _DROPPED or name.startswith("cls."):
            continue
        target = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if target is None:
            raise ConfigurationError(f"unexpected tensor {name} in {weights_file}")
        data = np.ascontiguousarray(tensor, dtype=np.float32)
        if f16 and data.ndim == 2 and not target.startswith(("position_embd", "token_types")):
            data = data.astype(np.float16)
        writer.add_tensor(target, data)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(out)
    return out
