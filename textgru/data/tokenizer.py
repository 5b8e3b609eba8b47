"""Tokenizers: Hugging Face `tokenizers`, trained on the data, saved as tokenizer.json.

Every tokenizer textgru trains has the same four special tokens first, so
`[PAD]` is id 0 and `keras.layers.Embedding(mask_zero=True)` masks padding.
"""

import hashlib
import json
from pathlib import Path

import tokenizers
from tokenizers import Regex, decoders, models, normalizers, pre_tokenizers, trainers

from textgru import _validation
from textgru._atomic import atomic_path
from textgru.errors import InvalidArgumentError, TokenizerError

PAD, UNK, BOS, EOS = "[PAD]", "[UNK]", "[BOS]", "[EOS]"
SPECIAL_TOKENS = (PAD, UNK, BOS, EOS)

# kind -> default vocabulary size (byte: the 256 bytes and the specials, fixed).
KINDS = {
    "bpe": 8000,
    "wordpiece": 8000,
    "unigram": 8000,
    "word": 20000,
    "char": 1000,
    "byte": 256 + len(SPECIAL_TOKENS),
}

# Other spellings of the specials found in tokenizer.json files from the hub.
_ALIASES = {
    PAD: ("[PAD]", "<pad>"),
    UNK: ("[UNK]", "<unk>"),
    BOS: ("[BOS]", "<s>", "<bos>", "<|startoftext|>"),
    EOS: ("[EOS]", "</s>", "<eos>", "<|endoftext|>"),
}


class Tokenizer:
    """Text to token ids and back: a thin wrapper of a `tokenizers.Tokenizer`.

    Build one with `textgru.data.train_tokenizer` or read a `tokenizer.json`
    (textgru's or any Hugging Face one) with `Tokenizer.load`. Encoding never
    pads or truncates: the tf.data pipelines do that.

    Args:
        backend: the `tokenizers.Tokenizer` to wrap.

    Example:

    >>> tok = textgru.data.train_tokenizer(["a cat", "a dog"], kind="word")
    >>> tok.encode("a dog")
    [4, 6]
    >>> tok.decode(tok.encode("a dog"))
    'a dog'
    >>> tok.pad_id
    0
    """

    def __init__(self, backend):
        if not isinstance(backend, tokenizers.Tokenizer):
            raise InvalidArgumentError(
                "Expected `backend` to be a tokenizers.Tokenizer. "
                f"Received: backend={type(backend).__name__}"
            )
        backend.no_padding()
        backend.no_truncation()
        self.backend = backend

    @classmethod
    def load(cls, path):
        """Read a `tokenizer.json` (a file, or a folder that holds one)."""
        path = Path(path)
        if path.is_dir():
            path = path / "tokenizer.json"
        if not path.is_file():
            raise TokenizerError(f"No tokenizer file at {path}")
        try:
            backend = tokenizers.Tokenizer.from_file(str(path))
        except Exception as error:  # the Rust side raises a bare Exception
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise TokenizerError(
                f"{path} is not a valid Hugging Face tokenizer.json ({reason}); "
                "train a new one or point to the right file"
            ) from None
        return cls(backend)

    def save(self, path):
        """Write a standard `tokenizer.json` to `path` (atomically)."""
        path = Path(path)
        if path.is_dir():
            path = path / "tokenizer.json"
        with atomic_path(path) as tmp:
            self.backend.save(str(tmp))
        return path

    def to_json(self):
        return self.backend.to_str()

    @classmethod
    def from_json(cls, text):
        try:
            return cls(tokenizers.Tokenizer.from_str(text))
        except Exception as error:
            raise TokenizerError(f"Not a valid tokenizer.json ({error})") from None

    @property
    def vocab_size(self):
        return self.backend.get_vocab_size(with_added_tokens=True)

    @property
    def fingerprint(self):
        """A sha256 of the vocabulary (token -> id): two tokenizers with the
        same fingerprint map text to the same ids."""
        vocab = sorted(self.backend.get_vocab(with_added_tokens=True).items())
        return hashlib.sha256(json.dumps(vocab).encode("utf-8")).hexdigest()

    def token_to_id(self, token):
        return self.backend.token_to_id(token)

    def id_to_token(self, token_id):
        return self.backend.id_to_token(int(token_id))

    def _special(self, token):
        for spelling in _ALIASES[token]:
            token_id = self.backend.token_to_id(spelling)
            if token_id is not None:
                return token_id
        return None

    @property
    def pad_id(self):
        return self._special(PAD)

    @property
    def unk_id(self):
        return self._special(UNK)

    @property
    def bos_id(self):
        return self._special(BOS)

    @property
    def eos_id(self):
        return self._special(EOS)

    def encode(self, text):
        """The token ids of one text (a list of ints)."""
        return self.backend.encode(_check_text(text)).ids

    def encode_batch(self, texts):
        """The token ids of many texts, encoded in parallel by the Rust batch path."""
        texts = [_check_text(t) for t in texts]
        return [e.ids for e in self.backend.encode_batch_fast(texts)]

    def tokenize(self, text):
        """The token strings of one text (for labelling plots)."""
        return self.backend.encode(_check_text(text)).tokens

    def encode_pieces(self, text):
        """The ids of one text and the piece of the text each id covers.

        Returns `(ids, pieces)`: `pieces[i]` is the span of `text` that token
        i came from (original case and spacing; `"Ġthe"` becomes `" the"`),
        or the token itself where it covers no text (special tokens). For
        labelling plots token by token.
        """
        encoding = self.backend.encode(_check_text(text))
        pieces = [
            text[start:end] if end > start else token
            for token, (start, end) in zip(
                encoding.tokens, encoding.offsets, strict=True
            )
        ]
        return encoding.ids, pieces

    def decode(self, ids, skip_special_tokens=True):
        return self.backend.decode([int(i) for i in ids], skip_special_tokens)

    def decode_batch(self, batch, skip_special_tokens=True):
        return self.backend.decode_batch(
            [[int(i) for i in ids] for ids in batch], skip_special_tokens
        )

    def __repr__(self):
        model = json.loads(self.backend.to_str())["model"]["type"]
        return f"<textgru.data.Tokenizer {model} vocab_size={self.vocab_size}>"


def _check_text(text):
    if not isinstance(text, str):
        raise InvalidArgumentError(
            f"Expected a text (str). Received: {type(text).__name__} {text!r:.40}"
        )
    return text


def train_tokenizer(
    texts,
    kind="word",
    vocab_size=None,
    *,
    lowercase=False,
    min_frequency=1,
    show_progress=False,
    text_column="text",
):
    """Train a tokenizer on `texts` with Hugging Face `tokenizers`.

    Args:
        texts: an iterable of strings, or a `datasets.Dataset` whose
            `text_column` holds the texts (read in batches).
        kind: `"word"` (whole words and punctuation), `"char"` (characters),
            `"byte"` (the 256 bytes of UTF-8; needs no training), or a subword
            model: `"bpe"` (byte-level BPE, as GPT-2), `"wordpiece"` (as BERT)
            or `"unigram"` (as SentencePiece).
        vocab_size: the largest vocabulary, specials included; the rarest
            tokens become `[UNK]`. Default by kind: word 20000, char 1000,
            subwords 8000; byte is always 260.
        lowercase: lowercase texts before tokenizing (also when encoding).
        min_frequency: the fewest occurrences a token needs to be kept.
        show_progress: show the trainer's progress bar.
        text_column: the column of a `datasets.Dataset` with the texts.

    Returns:
        A `textgru.data.Tokenizer` with `[PAD]`=0, `[UNK]`=1, `[BOS]`=2,
        `[EOS]`=3.
    """
    if kind not in KINDS:
        raise InvalidArgumentError(
            f"Expected `kind` to be one of {', '.join(KINDS)}. Received: kind={kind!r}"
        )
    if vocab_size is None:
        vocab_size = KINDS[kind]
    vocab_size = _validation.positive_int("vocab_size", vocab_size)
    min_frequency = _validation.positive_int("min_frequency", min_frequency)
    if kind == "byte" and vocab_size != KINDS["byte"]:
        raise InvalidArgumentError(
            f"The byte tokenizer has a fixed vocabulary of {KINDS['byte']} ids. "
            f"Received: vocab_size={vocab_size}"
        )
    if vocab_size <= len(SPECIAL_TOKENS):
        raise InvalidArgumentError(
            f"Expected `vocab_size` to be larger than the {len(SPECIAL_TOKENS)} "
            f"special tokens. Received: vocab_size={vocab_size}"
        )
    backend = _BUILDERS[kind]()
    steps = [normalizers.NFC()] + ([normalizers.Lowercase()] if lowercase else [])
    backend.normalizer = normalizers.Sequence(steps)
    if kind != "byte":
        options = {"vocab_size": vocab_size, "show_progress": show_progress}
        options["special_tokens"] = list(SPECIAL_TOKENS)
        if kind == "unigram":
            trainer = trainers.UnigramTrainer(**options, unk_token=UNK)
        else:
            options["min_frequency"] = min_frequency
            if kind == "bpe":
                options["initial_alphabet"] = pre_tokenizers.ByteLevel.alphabet()
            trainer = _TRAINERS[kind](**options)
        counter = _Counting(texts, text_column)
        backend.train_from_iterator(counter, trainer=trainer)
        if not counter.nonempty:
            raise TokenizerError(
                "Cannot train a tokenizer on no text: every text given was empty"
            )
    return Tokenizer(backend)


class _Counting:
    """Iterates texts in batches for the trainer, checking they are strings."""

    def __init__(self, texts, column="text"):
        self.texts = texts
        self.column = column
        self.nonempty = 0
        if hasattr(texts, "column_names") and column not in texts.column_names:
            raise InvalidArgumentError(
                f"Expected a dataset with a {column!r} column of texts. Received "
                f"columns: {', '.join(texts.column_names)}; pass text_column=..."
            )

    def __iter__(self):
        texts, column = self.texts, self.column
        if hasattr(texts, "column_names"):  # a datasets.Dataset
            batches = (texts[i : i + 1000][column] for i in range(0, len(texts), 1000))
        elif isinstance(texts, str):
            raise InvalidArgumentError(
                "Expected `texts` to be an iterable of strings, not one string. "
                "Received: a str; wrap it in a list"
            )
        else:
            batches = _batched(texts, 1000)
        for batch in batches:
            batch = [_check_text(t) for t in batch]
            self.nonempty += sum(1 for t in batch if t.strip())
            yield batch


def _batched(iterable, size):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _bpe():
    backend = tokenizers.Tokenizer(models.BPE(unk_token=UNK))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    return backend


def _wordpiece():
    backend = tokenizers.Tokenizer(models.WordPiece(unk_token=UNK))
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    return backend


def _unigram():
    backend = tokenizers.Tokenizer(models.Unigram())
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    return backend


def _word():
    backend = tokenizers.Tokenizer(models.WordLevel(unk_token=UNK))
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return backend


def _char():
    backend = tokenizers.Tokenizer(models.WordLevel(unk_token=UNK))
    # (?m) is "dot matches newline" in Oniguruma: every character is a token.
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"(?m)."), behavior="isolated")
    backend.decoder = decoders.Fuse()
    return backend


def _byte():
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {token: i for i, token in enumerate([*SPECIAL_TOKENS, *alphabet])}
    backend = tokenizers.Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=UNK))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(
        add_prefix_space=False, use_regex=False
    )
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens(list(SPECIAL_TOKENS))
    return backend


_BUILDERS = {
    "bpe": _bpe,
    "wordpiece": _wordpiece,
    "unigram": _unigram,
    "word": _word,
    "char": _char,
    "byte": _byte,
}
_TRAINERS = {
    "bpe": trainers.BpeTrainer,
    "wordpiece": trainers.WordPieceTrainer,
    "word": trainers.WordLevelTrainer,
    "char": trainers.WordLevelTrainer,
}
