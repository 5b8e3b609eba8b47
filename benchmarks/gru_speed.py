"""Training and inference speed of textgru.GRU against keras.layers.GRU.

A sentiment-shaped model, Embedding(20000, 128) -> GRU(256) -> Dense(1),
batch 64, length 200, Adam, float32, on the current Keras backend. Every
variant is built and warmed up first, then timed in interleaved rounds (one
block of steps per variant per round) so that a noisy, shared machine slows
them alike; the table shows medians over rounds and the ratios to
keras.layers.GRU with the same `reset_after`. Where torch is installed,
torch.nn.GRU with the same shapes is timed as a peer. The "matmul floor" is
the time of the matrix products any GRU must do (forward, and for training
backward; see `matmul_floor`) and nothing else, timed with NumPy and with the
backend's own kernels; a layer's fraction of it says how close to the
products alone it runs.

Inference is timed through the two calls users make: `predict_on_batch`
("infer", one batch per call) and `predict` ("predict", the batches of one
array). `--run-time-length` builds the models with `keras.Input((None,))`,
as models that read texts of any length are, so the length is known only
when a batch arrives.

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

MODES = ("train", "infer", "predict")
FLOOR_OF = {"train": "train", "infer": "infer", "predict": "infer"}


def build_model(gru_class, args, reset_after):
    length = None if args.run_time_length else args.length
    model = keras.Sequential(
        [
            keras.Input((length,), dtype="int32"),
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

    def predict(steps):
        model.predict(np.concatenate([x] * steps), batch_size=len(x), verbose=0)

    return {"train": train, "infer": infer, "predict": predict}


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

    return {"train": train, "infer": infer, "predict": infer}


def _floor_arrays(args):
    rng = np.random.default_rng(0)
    b, t, e, u = args.batch, args.length, args.embed, args.units
    f32 = lambda *s: rng.standard_normal(s, dtype="float32") * 0.05  # noqa: E731
    return {
        "x": f32(t * b, e),  # the inputs of every step
        "w": f32(e, 3 * u),  # kernel
        "u": f32(u, 3 * u),  # recurrent kernel
        "h": f32(b, u),  # a state
        "g": f32(b, 3 * u),  # a step's gate gradients
        "states": f32(t * b, u),  # the states of every step
        "grads": f32(t * b, 3 * u),  # the gate gradients of every step
    }


def _timed(fn, steps):
    fn()  # warm-up (and compilation)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_floor(args, steps=5):
    """Seconds per batch for the matrix products any GRU must do, alone.

    Forward: X W for all steps at once, then one (batch, units) x (units,
    3 units) product per step, each waiting for the last. Backward, as a
    hand-written backward pass does it: one product with the transposed
    recurrent kernel per step (in sequence), then dU = H^T G, dW = X^T G and
    dX = G W^T as three large products. Timed twice: with NumPy (one loop),
    and with the backend's own kernels in a compiled loop, the fastest way
    we know on each: on TensorFlow two loops over the halves of the batch at
    once (as textgru.GRU's fast path), on JAX one loop.
    """
    a = _floor_arrays(args)
    t, u = args.length, args.units

    def numpy_forward():
        a["x"] @ a["w"]
        h = a["h"]
        for _ in range(t):
            h = (h @ a["u"])[:, :u]

    def numpy_backward():
        g = a["g"]
        for _ in range(t):
            g = np.tile(g @ a["u"].T, 3)
        a["states"].T @ a["grads"], a["x"].T @ a["grads"], a["grads"] @ a["w"].T

    floors = {
        "numpy": _pair(_timed(numpy_forward, steps), _timed(numpy_backward, steps))
    }
    compiled = _backend_floor(a, t, u, steps)
    if compiled is not None:
        floors[keras.backend.backend()] = compiled
    return floors


def _pair(forward, backward):
    return {"infer": forward, "train": forward + backward}


def _backend_floor(a, t, u, steps):
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        # As textgru.GRU's fast path runs them: one loop per half of the
        # batch, which TensorFlow runs at the same time (one per core).
        c = {k: tf.constant(v) for k, v in a.items()}
        halves = {k: tf.split(c[k], 2) for k in ("h", "g")}

        def chain(state, product):
            body = lambda i, s: (i + 1, product(s))  # noqa: E731
            return tf.while_loop(lambda i, s: i < t, body, (0, state))[1]

        @tf.function
        def forward():
            step = lambda h: tf.matmul(h, c["u"])[:, :u]  # noqa: E731
            return tf.matmul(c["x"], c["w"]), [chain(h, step) for h in halves["h"]]

        @tf.function
        def backward():
            step = lambda g: tf.tile(  # noqa: E731
                tf.matmul(g, c["u"], transpose_b=True), [1, 3]
            )
            return (
                [chain(g, step) for g in halves["g"]],
                tf.matmul(c["states"], c["grads"], transpose_a=True),
                tf.matmul(c["x"], c["grads"], transpose_a=True),
                tf.matmul(c["grads"], c["w"], transpose_b=True),
            )

        return _pair(_timed(forward, steps), _timed(backward, steps))
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        c = {k: jnp.asarray(v) for k, v in a.items()}

        @jax.jit
        def forward(c):
            h = jax.lax.fori_loop(0, t, lambda i, h: (h @ c["u"])[:, :u], c["h"])
            return c["x"] @ c["w"], h

        @jax.jit
        def backward(c):
            chain = jax.lax.fori_loop(
                0, t, lambda i, g: jnp.tile(g @ c["u"].T, 3), c["g"]
            )
            return (
                chain,
                c["states"].T @ c["grads"],
                c["x"].T @ c["grads"],
                (c["grads"] @ c["w"].T),
            )

        def run(fn):
            return lambda: jax.block_until_ready(fn(c))

        return _pair(_timed(run(forward), steps), _timed(run(backward), steps))
    return None


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
    parser.add_argument(
        "--run-time-length", action="store_true",
        help="build the models with keras.Input((None,)): a length known only "
        "when a batch arrives",
    )  # fmt: skip
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
        for mode in MODES:
            runner[mode](args.steps)

    seconds = {(key, mode): [] for key in runners for mode in MODES}
    for _ in range(args.rounds):
        for key, runner in runners.items():
            for mode in MODES:
                start = time.perf_counter()
                runner[mode](args.steps)
                seconds[(key, mode)].append((time.perf_counter() - start) / args.steps)
    floors = matmul_floor(args)
    floor_names = list(floors)

    rows = []
    for (name, reset_after), _ in runners.items():
        row = {"layer": name, "reset_after": reset_after}
        for mode in MODES:
            per_batch = statistics.median(seconds[((name, reset_after), mode)])
            base = statistics.median(seconds[(("keras.layers.GRU", reset_after), mode)])
            row[f"{mode}_seq_per_s"] = args.batch / per_batch
            row[f"{mode}_vs_keras"] = base / per_batch
            for floor_name in floor_names:
                fraction = floors[floor_name][FLOOR_OF[mode]] / per_batch
                row[f"{mode}_floor_fraction_{floor_name}"] = fraction
        rows.append(row)

    length = "run-time" if args.run_time_length else "fixed"
    print(
        f"keras {keras.__version__}, backend {keras.backend.backend()}, "
        f"{os.cpu_count()} CPUs; batch {args.batch}, length {args.length} "
        f"({length}), units {args.units}; median of {args.rounds} rounds x "
        f"{args.steps} batches"
    )
    names = {"infer": "predict_on_batch", "predict": "predict"}
    columns = [f"{names.get(mode, mode)} seq/s | vs keras" for mode in MODES]
    columns += [f"{names.get(m, m)} / {f} floor" for m in MODES for f in floor_names]
    print(f"| layer | reset_after | {' | '.join(columns)} |")
    print("|---|---|" + "---|---|" * len(MODES) + "---|" * (len(MODES) * len(floors)))
    for r in rows:
        speeds = " | ".join(
            f"{r[f'{mode}_seq_per_s']:.1f} | {r[f'{mode}_vs_keras']:.2f}x"
            for mode in MODES
        )
        fractions = " | ".join(
            f"{r[f'{mode}_floor_fraction_{f}']:.0%}"
            for mode in MODES
            for f in floor_names
        )
        print(f"| {r['layer']} | {r['reset_after']} | {speeds} | {fractions} |")
    for floor_name, floor in floors.items():
        print(
            f"matmul floor ({floor_name}): train {args.batch / floor['train']:.1f} "
            f"seq/s, infer {args.batch / floor['infer']:.1f} seq/s"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"args": vars(args), "rows": rows, "floor_seconds": floors}, f, indent=2
            )
    return rows


if __name__ == "__main__":
    main()
