"""A toy teacher for the distillation tests: a random 2-layer BERT over the
tiny reviews' words, with the weight names of Hugging Face's `BertModel`
(the conftest's `toy_teacher` fixture puts it in MiniLM's place)."""

import tempfile
from pathlib import Path

import numpy as np

from tests.tiny import NEGATIVE, NEUTRAL, POSITIVE
from textgru.teachers.bert import BertSettings, write_safetensors

TOY = BertSettings(
    vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
    intermediate_size=32, max_position_embeddings=64,
)  # fmt: skip


def hf_weights(rng, s):
    """Random weights of a Hugging Face `BertModel` of sizes `s`, by its names."""

    def normal(*shape):
        return rng.normal(scale=0.3, size=shape).astype(np.float32)

    h, inner = s.hidden_size, s.intermediate_size
    w = {
        "embeddings.word_embeddings.weight": normal(s.vocab_size, h),
        "embeddings.position_embeddings.weight": normal(s.max_position_embeddings, h),
        "embeddings.token_type_embeddings.weight": normal(s.type_vocab_size, h),
        "embeddings.LayerNorm.weight": 1 + normal(h),
        "embeddings.LayerNorm.bias": normal(h),
        "pooler.dense.weight": normal(h, h),
        "pooler.dense.bias": normal(h),
    }
    for i in range(s.num_hidden_layers):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            w[f"{p}attention.self.{name}.weight"] = normal(h, h)
            w[f"{p}attention.self.{name}.bias"] = normal(h)
        w[f"{p}attention.output.dense.weight"] = normal(h, h)
        w[f"{p}attention.output.dense.bias"] = normal(h)
        w[f"{p}attention.output.LayerNorm.weight"] = 1 + normal(h)
        w[f"{p}attention.output.LayerNorm.bias"] = normal(h)
        w[f"{p}intermediate.dense.weight"] = normal(inner, h)
        w[f"{p}intermediate.dense.bias"] = normal(inner)
        w[f"{p}output.dense.weight"] = normal(h, inner)
        w[f"{p}output.dense.bias"] = normal(h)
        w[f"{p}output.LayerNorm.weight"] = 1 + normal(h)
        w[f"{p}output.LayerNorm.bias"] = normal(h)
    return w


def toy_teacher_files(rng):
    """A random 2-layer BERT over the tiny reviews' words, as the files
    `minilm_files()` gives."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = specials + NEUTRAL + POSITIVE + NEGATIVE + list("0123456789")
    tokenizer = Tokenizer(
        models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]")
    )
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tokenizer.add_special_tokens(specials)
    settings = BertSettings(**{**TOY.__dict__, "vocab_size": len(vocab)})
    weights = hf_weights(rng, settings)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.safetensors"
        write_safetensors(path, weights)
        data = path.read_bytes()
    config = {"model_type": "bert", "hidden_act": "gelu", **settings.__dict__}
    return {
        "config": config,
        "tokenizer.json": tokenizer.to_str(),
        "model.safetensors": data,
        "sha256": "toy",
    }
