"""The benchmark scripts still run (at a tiny size; their figures are not checked
here: speed is measured by running them by hand, see the README)."""

import importlib.util
import json
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_data_speed_runs(builtin_home, capsys):
    _load("data_speed").main(
        ["--model-steps", "1", "--batch", "64", "--units", "8", "--json"]
    )
    out = capsys.readouterr().out
    rows = json.loads(out[out.index("{") :])["rows"]
    assert [r["dataset"] for r in rows] == [
        "rotten_tomatoes (train)",
        "shakespeare (train)",
    ]
    for row in rows:
        assert row["tokens"] > 0 and row["batches_per_epoch"] > 0
        assert row["pipeline_over_model"] > 0


def test_gru_speed_runs(tmp_path, capsys):
    out_file = tmp_path / "speed.json"
    _load("gru_speed").main(
        ["--rounds", "1", "--steps", "1", "--batch", "4", "--length", "6",
         "--units", "8", "--embed", "4", "--vocab", "50", "--no-torch",
         "--run-time-length", "--json", str(out_file)]
    )  # fmt: skip
    assert "textgru.GRU" in capsys.readouterr().out
    rows = json.loads(out_file.read_text())["rows"]
    assert all(
        row[f"{mode}_seq_per_s"] > 0
        for row in rows
        for mode in ("train", "infer", "predict")
    )


def _tiny_recipe(tmp_path, texts):
    """A small labelled CSV, and `--set` flags for a one-epoch tiny recipe."""
    import numpy as np

    from tests.tiny import NEGATIVE, POSITIVE, TINY, labelled_rows, write_csv

    rows = labelled_rows(np.random.default_rng(3), texts, [NEGATIVE, POSITIVE])
    data = write_csv(tmp_path / "d.csv", rows, ["neg", "pos"])
    settings = [f"{k}={json.dumps(v)}" for k, v in {**TINY, "epochs": 1}.items()]
    return data, settings


def test_quality_runs(tmp_path, capsys):
    data, settings = _tiny_recipe(tmp_path, 200)
    out_file = tmp_path / "quality.json"
    _load("quality").main(
        [
            "--datasets",
            data,
            "--seeds",
            "0",
            "--json",
            str(out_file),
            "--set",
            *settings,
        ]
    )
    results = json.loads(out_file.read_text())
    assert [r["model"] for r in results] == ["textgru", "keras GRU", "TF-IDF LR"]
    for result in results:
        assert 0.0 <= result["test_accuracy"][0] <= 1.0
    assert "| TF-IDF LR |" in capsys.readouterr().out


def test_quality_distillation_rows_run(tmp_path, toy_teacher, capsys):
    """The rows of GloVe, the distilled GRU, its teacher and TF-IDF + MiniLM
    features (a toy teacher in MiniLM's place)."""
    data, settings = _tiny_recipe(tmp_path, 200)
    teacher = {"teacher_epochs": 2, "teacher_learning_rate": 0.01, "augment": 1}
    settings += ["embed_dim=50", *(f"{k}={json.dumps(v)}" for k, v in teacher.items())]
    out_file = tmp_path / "quality.json"
    _load("quality").main(
        ["--datasets", data, "--seeds", "0", "--json", str(out_file),
         "--models", "glove", "teacher", "distilled", "tfidf-minilm", "--set",
         *settings]
    )  # fmt: skip
    results = json.loads(out_file.read_text())
    assert [r["model"] for r in results] == [
        "textgru + GloVe",
        "MiniLM teacher (fine-tuned)",
        "distilled from MiniLM",
        "TF-IDF + MiniLM features LR",
    ]
    for result in results:
        assert 0.0 <= result["test_accuracy"][0] <= 1.0
    assert "2 epochs, validation" in results[1]["note"]
    assert "| TF-IDF + MiniLM features LR |" in capsys.readouterr().out


def test_cells_runs(tmp_path, capsys):
    data, settings = _tiny_recipe(tmp_path, 160)
    out_file = tmp_path / "cells.json"
    _load("cells").main(
        ["--dataset", data, "--seeds", "0", "--json", str(out_file), "--set"] + settings
    )
    results = json.loads(out_file.read_text())
    assert [r["cell"] for r in results] == ["GRUCell", "MGUCell", "LayerNormGRUCell"]
    assert results[0]["speed_vs_first"] == 1.0
    # MGU has two gate blocks to the GRU's three; layer norm adds gains.
    gru, mgu, layer_norm = (r["parameters"] for r in results)
    assert mgu < gru < layer_norm
    assert "| LayerNormGRUCell |" in capsys.readouterr().out


def test_generation_speed_runs(capsys):
    _load("generation_speed").main(["--tokens", "5", "--batch", "2", "--json"])
    out = capsys.readouterr().out
    result = json.loads(out[out.index("{") :])
    assert result["one_stream_chars_per_s"] > 0 and result["batch_2_chars_per_s"] > 0


def test_lm_quality_runs(tmp_path, capsys):
    from tests.test_language_modeling import TINY

    text = tmp_path / "t.txt"
    text.write_text("".join(f"to be or not to be, line {i}.\n" for i in range(200)))
    settings = [
        f"{k}={json.dumps(v)}" for k, v in {**TINY, "dataset": str(text)}.items()
    ]
    out_file = tmp_path / "lm.json"
    _load("lm_quality").main(
        ["--parity-steps", "3", "--json", str(out_file), "--set", *settings]
    )
    results = json.loads(out_file.read_text())
    assert len(results["default"]["history"]) == TINY["epochs"]
    assert set(results["parity"]) == {"textgru", "keras"}
    assert "test-loss difference" in capsys.readouterr().out


def test_recipe_speed_runs(tmp_path, capsys):
    import numpy as np

    from tests.tiny import NEGATIVE, POSITIVE, TINY, labelled_rows, write_csv

    rows = labelled_rows(np.random.default_rng(4), 120, [NEGATIVE, POSITIVE])
    data = write_csv(tmp_path / "d.csv", rows, ["neg", "pos"])
    settings = {k: v for k, v in TINY.items() if k not in ("epochs", "patience")}
    result = _load("recipe_speed").main(
        ["--dataset", data, "--repeats", "1", "--epochs", "1", "--adamw", "both"]
        + ["--set"]
        + [f"{k}={json.dumps(v)}" for k, v in settings.items()]
    )
    assert set(result["seconds"]) == {"textgru", "textgru (keras AdamW)", "keras"}
    assert result["ratio"] > 0
    out = capsys.readouterr().out
    assert "textgru is" in out and "with FusedAdamW" in out


def test_optimizer_speed_runs(capsys):
    medians = _load("optimizer_speed").main(
        ["--rounds", "1", "--steps", "1", "--vocab", "50", "--batch", "4",
         "--length", "5"]
    )  # fmt: skip
    assert len(medians) == 4 and all(ms > 0 for ms in medians.values())
    assert "apply: FusedAdamW is" in capsys.readouterr().out


def test_startup_runs(capsys):
    rows = _load("startup").main(["--runs", "1"])
    assert [r["command"] for r in rows] == [
        "textgru --help",
        "textgru datasets",
        "import textgru",
    ]
    assert rows[0]["heavy_modules_imported"] == "[]"
    assert "median wall time" in capsys.readouterr().out


def test_ablation_runs(tmp_path, capsys):
    data, settings = _tiny_recipe(tmp_path, 160)
    out_file = tmp_path / "ablation.json"
    _load("ablation").main(
        ["--datasets", data, "--seeds", "0", "1", "--ensemble", "--averaging",
         "--json", str(out_file), "--variants",
         "adversarial:adversarial=0.1,word_dropout=0.1", "--set", *settings,
         "epochs=2"]
    )  # fmt: skip
    results = json.loads(out_file.read_text())
    assert [r["variant"] for r in results] == ["adversarial"]
    assert results[0]["overrides"]["adversarial"] == 0.1
    for result in results:
        assert [r["seed"] for r in result["runs"]] == [0, 1]
        for row in result["runs"]:
            assert 0.0 <= row["averaged"]["test"] <= 1.0
        assert 0.0 <= result["ensemble"]["validation"] <= 1.0
    out = capsys.readouterr().out
    assert "| adversarial, ensemble of the 2 seeds |" in out
    assert "weights averaged over epochs 2 to last" in out


def test_imbalance_runs(tmp_path, capsys):
    data, settings = _tiny_recipe(tmp_path, 160)
    out_file = tmp_path / "imbalance.json"
    _load("imbalance").main(
        ["--dataset", data, "--label", "pos", "--seeds", "0", "--json",
         str(out_file), "--variants", "weighted:class_weight=balanced",
         "--set", *settings]
    )  # fmt: skip
    results = json.loads(out_file.read_text())
    assert [r["variant"] for r in results] == [
        "weighted, threshold 0.5",
        "weighted, threshold tuned (f1)",
    ]
    assert results[0]["runs"][0]["threshold"] == 0.5
    assert 0 < results[1]["runs"][0]["threshold"] < 1
    for result in results:
        assert 0.0 <= result["runs"][0]["recall"] <= 1.0
    assert "| weighted, threshold tuned (f1) |" in capsys.readouterr().out


def test_quality_regression_runs(tmp_path, capsys):
    import numpy as np

    from tests.tiny import NEGATIVE, NEUTRAL, POSITIVE, TINY

    rng = np.random.default_rng(5)
    lines = ["text,target"]
    for i in range(160):
        good, bad = rng.integers(0, 3, size=2)
        words = [*rng.choice(NEUTRAL, 3), *rng.choice(POSITIVE, good)]
        words += list(rng.choice(NEGATIVE, bad))
        lines.append(" ".join(words) + f" {i},{good - bad}")
    data = tmp_path / "rated.csv"
    data.write_text("\n".join(lines) + "\n")
    settings = TINY
    rows = _load("quality").main(
        ["--regression", "--datasets", str(data), "--seeds", "0", "--set"]
        + [f"{k}={json.dumps(v)}" for k, v in {**settings, "epochs": 1}.items()]
    )
    assert [r["model"] for r in rows] == ["textgru", "TF-IDF ridge"]
    for row in rows:
        assert -1 <= row["pearson"][0] <= 1 and row["mae"][0] >= 0
    assert "| TF-IDF ridge |" in capsys.readouterr().out


def test_multilabel_runs(tmp_path, capsys):
    from tests.tiny import TINY

    sizes = {k: v for k, v in TINY.items() if k != "adversarial"}
    out_file = tmp_path / "multilabel.json"
    results = _load("multilabel").main(
        ["--texts", "200", "--seeds", "0", "--json", str(out_file), "--set"]
        + [f"{k}={json.dumps(v)}" for k, v in {**sizes, "epochs": 1}.items()]
    )
    assert [r["thresholds"] for r in results] == ["tuned", "0.5"]
    for result in results:
        assert 0.0 <= result["micro_f1"][0] <= 1.0
        assert 0.0 <= result["hamming_loss"][0] <= 1.0
    saved = json.loads(out_file.read_text())
    assert all(0 < t < 1 for t in saved["thresholds"][0].values())
    assert "| 0.5 |" in capsys.readouterr().out
