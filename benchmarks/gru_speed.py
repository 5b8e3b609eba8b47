"""Training and inference speed of textgru.GRU against keras.layers.GRU.

A sentiment-shaped model, Embedding(20000, 128) -> GRU(256) -> Dense(1),
batch 64, length 200, Adam, float32, on the current Keras backend. Every
variant is built and warmed up first, then timed in interleaved rounds (one
block of steps per variant per round) so that a noisy, shared machine slows
them alike; the table shows medians over rounds and the ratios to
keras.layers.GRU with the same `reset_after`. Where torch is installed,
torch.nn.GRU with the same shapes is timed as a peer. The "matmul floor" is
the time of the forward (and, for training, backward) matrix products alone,
done with NumPy at the same shapes.

    python benchmarks/gru_speed.py                 # full size
    python benchmarks/gru_speed.py --rounds 3 --steps 2 --batch 16 --length 50
"""

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import textgru  # noqa: E402


def build_model(gru_class, args, reset_after):
    model = keras.Sequential(
        [
            keras.Input((args.length,), dtype="int32"),
            keras.layers.Embedding(args.vocab, args.embed),
            gru_class(args.units, reset_after=reset_after),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def keras_runner(model, x, y):
    def train(steps):
        for _ in range(steps):
            model.train_on_batch(x, y)

    def infer(steps):
        for _ in range(steps):
            model.predict_on_batch(x)

    return {"train": train, "infer": infer}


def torch_runner(args, x, y):
    import torch

    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(args.vocab, args.embed)
            self.gru = torch.nn.GRU(args.embed, args.units, batch_first=True)
            self.head = torch.nn.Linear(args.units, 1)

        def forward(self, ids):
            _, h = self.gru(self.embed(ids))
            return self.head(h[-1])

    net = Net()
    optimizer = torch.optim.Adam(net.parameters())
    loss_fn = torch.nn.BCEWithLogitsLoss()
    xt = torch.from_numpy(x.astype("int64"))
    yt = torch.from_numpy(y)

    def train(steps):
        net.train()
        for _ in range(steps):
            optimizer.zero_grad()
            loss_fn(net(xt), yt).backward()
            optimizer.step()

    def infer(steps):
        net.eval()
        with torch.no_grad():
            for _ in range(steps):
                net(xt)

    return {"train": train, "infer": infer}


def matmul_floor(args, steps=3):
    """Seconds per batch for the GRU's matrix products alone (NumPy)."""
    rng = np.random.default_rng(0)
    b, t, e, u = args.batch, args.length, args.embed, args.units
    f32 = lambda *s: rng.standard_normal(s, dtype="float32")  # noqa: E731
    x, w, uu = f32(b * t, e), f32(e, 3 * u), f32(u, 3 * u)
    h, g = f32(b, u), f32(b, 3 * u)
    gx = f32(b * t, 3 * u)

    def forward():
        x @ w
        for _ in range(t):
            h @ uu

    def backward():
        gx @ w.T  # d inputs
        x.T @ gx  # d kernel
        for _ in range(t):
            g @ uu.T  # d state
            h.T @ g  # d recurrent kernel

    def timed(fn):
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    fwd, bwd = timed(forward), timed(backward)
    return {"infer": fwd, "train": fwd + bwd}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3, help="batches per round")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--embed", type=int, default=128)
    parser.add_argument("--vocab", type=int, default=20000)
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    x = rng.integers(1, args.vocab, size=(args.batch, args.length)).astype("int32")
    y = rng.integers(0, 2, size=(args.batch, 1)).astype("float32")

    runners = {}
    for reset_after in (False, True):
        for name, cls in (
            ("textgru.GRU", textgru.GRU),
            ("keras.layers.GRU", keras.layers.GRU),
        ):
            runners[(name, reset_after)] = keras_runner(
                build_model(cls, args, reset_after), x, y
            )
    if not args.no_torch:
        try:
            runners[("torch.nn.GRU", True)] = torch_runner(args, x, y)
        except ImportError:
            print("torch is not installed: no torch.nn.GRU row")

    for runner in runners.values():  # compile and warm up
        runner["train"](1)
        runner["infer"](1)

    seconds = {(key, mode): [] for key in runners for mode in ("train", "infer")}
    for _ in range(args.rounds):
        for key, runner in runners.items():
            for mode in ("train", "infer"):
                start = time.perf_counter()
                runner[mode](args.steps)
                seconds[(key, mode)].append((time.perf_counter() - start) / args.steps)
    floor = matmul_floor(args)

    rows = []
    for (name, reset_after), _ in runners.items():
        row = {"layer": name, "reset_after": reset_after}
        for mode in ("train", "infer"):
            per_batch = statistics.median(seconds[((name, reset_after), mode)])
            base = statistics.median(seconds[(("keras.layers.GRU", reset_after), mode)])
            row[f"{mode}_seq_per_s"] = args.batch / per_batch
            row[f"{mode}_vs_keras"] = base / per_batch
            row[f"{mode}_floor_fraction"] = floor[mode] / per_batch
        rows.append(row)

    print(
        f"keras {keras.__version__}, backend {keras.backend.backend()}, "
        f"{os.cpu_count()} CPUs; batch {args.batch}, length {args.length}, "
        f"units {args.units}; median of {args.rounds} rounds x {args.steps} batches"
    )
    print(
        "| layer | reset_after | train seq/s | train vs keras | train / matmul floor "
        "| infer seq/s | infer vs keras | infer / matmul floor |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['layer']} | {r['reset_after']} | {r['train_seq_per_s']:.1f} | "
            f"{r['train_vs_keras']:.2f}x | {r['train_floor_fraction']:.0%} | "
            f"{r['infer_seq_per_s']:.1f} | {r['infer_vs_keras']:.2f}x | "
            f"{r['infer_floor_fraction']:.0%} |"
        )
    print(
        f"matmul floor (NumPy): train {args.batch / floor['train']:.1f} seq/s, "
        f"infer {args.batch / floor['infer']:.1f} seq/s"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"args": vars(args), "rows": rows, "floor_seconds": floor}, f, indent=2
            )
    return rows


if __name__ == "__main__":
    main()
