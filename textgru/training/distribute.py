"""Data-parallel training on several devices or machines, on the engines Keras
ships: `tf.distribute.MirroredStrategy` and `keras.distribution.DataParallel`.

A run's `distribute` field (`--distribute` on the command line) says how:

- `none`: one device, as always.
- `mirrored`: every device of this host holds a replica of the model and
  takes an equal share of each batch (on TensorFlow a `MirroredStrategy`,
  on JAX a `DataParallel` over the local devices). `devices` picks how many;
  on a host with no GPU it splits the CPU into that many logical devices,
  which is how to try it, and how the tests check it, on a laptop.
- `multi-host`: one process per host, on the JAX backend
  (`keras.distribution.initialize`, then a `DataParallel` over the devices of
  every process). The processes find each other through `coordinator`
  (HOST:PORT of process 0), `num_processes` and `process_id`, or the
  environment variables Keras reads (`KERAS_DISTRIBUTION_JOB_ADDRESSES`,
  `KERAS_DISTRIBUTION_NUM_PROCESSES`, `KERAS_DISTRIBUTION_PROCESS_ID`), so a
  cluster launcher can set them. Process 0's coordinator listens on the
  coordinator's own address (`127.0.0.1:PORT` under `textgru launch`), not
  on every interface as JAX would by default; set
  `JAX_COORDINATOR_BIND_ADDRESS` to listen elsewhere. TensorFlow's
  `MultiWorkerMirroredStrategy` does not work with Keras 3
  (keras-team/keras#20585), so it is not offered.

What stays the same: `batch_size` is the global batch, split evenly across
the replicas (it must divide by their number), so the learning rate and the
number of steps per epoch are what they are on one device. Each epoch drops
its last, smaller batch. Every process runs the same program on the same
data: each reads its own rows of every batch (`Distribution.shard`). Process
0, the chief, trains the tokenizer and gives it to the others, and alone
writes the run directory; each process keeps its own `BackupAndRestore`
backup (two processes cannot share one HDF5 file), so `--resume` continues
after any of them dies. The finished model is an ordinary one: it reloads
and predicts on one device like a model trained there.
"""

import contextlib
import dataclasses
import json
import os
import shutil
from pathlib import Path

import keras
import numpy as np

from textgru import _validation
from textgru._config import Section, field
from textgru.errors import InvalidArgumentError, RunError
from textgru.training.backups import backed_up_epochs, repair_backup, step_back
from textgru.training.run_directory import DISTRIBUTED_MODEL

STRATEGIES = ("none", "mirrored", "multi-host")
# Where Keras (`keras.distribution.initialize`) reads a cluster's settings.
ENVIRONMENT = {
    "coordinator": "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "num_processes": "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "process_id": "KERAS_DISTRIBUTION_PROCESS_ID",
}
# Where JAX's coordinator service (on process 0) listens; JAX's default when
# it is unset is every interface ("[::]:PORT").
BIND_ADDRESS = "JAX_COORDINATOR_BIND_ADDRESS"
# The MirroredStrategy of each set of devices in this process.
_strategies = {}
# The cluster this process joined (a JAX cluster can be joined only once).
_joined = None


@dataclasses.dataclass(frozen=True)
class Distribution:
    """How this process takes part in training: the strategy, how many
    replicas of the model train in all, and this process's place among the
    processes. `setup(config)` makes one; a `Distribution()` trains on one
    device.
    """

    strategy: str = "none"
    num_replicas: int = 1
    num_processes: int = 1
    process_id: int = 0
    # The engine: a tf.distribute.Strategy or a keras.distribution.Distribution.
    engine: object = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def is_chief(self):
        """Whether this process writes the run directory (process 0)."""
        return self.process_id == 0

    @property
    def distributed(self):
        return self.strategy != "none"

    def scope(self):
        """The context in which to build, compile and fit a model, so its
        variables are replicated and its batches split."""
        if self.engine is None:
            return contextlib.nullcontext()
        return self.engine.scope()

    def shard(self, dataset):
        """This process's rows of every batch of a `tf.data.Dataset` of equal
        batches (the whole batch on one process). Every process reads the
        same batches in the same order, so row block i of each batch goes to
        process i, as Keras's own sharding does."""
        if self.num_processes == 1:
            return dataset
        import tensorflow as tf

        count, index = self.num_processes, self.process_id

        def rows(*tensors):
            size = tf.shape(tensors[0])[0] // count
            return tuple(t[index * size : (index + 1) * size] for t in tensors)

        return dataset.map(rows)

    def check_batch_size(self, batch_size):
        """A global batch must split evenly across the replicas."""
        if batch_size % self.num_replicas:
            raise InvalidArgumentError(
                f"Expected `batch_size` to divide evenly across the "
                f"{self.num_replicas} replicas. Received: batch_size={batch_size}"
            )

    def backup_dir(self, work):
        """The `BackupAndRestore` folder of this process in the run folder
        `work`: `backup/`, or `backup/process-<i>` when there are several."""
        backup = Path(work) / "backup"
        return (
            backup if self.num_processes == 1 else backup / f"process-{self.process_id}"
        )

    def from_chief(self, make):
        """Run `make()` (returning a str) on the chief only and return its
        result on every process. If it raises, every process raises (the
        others a `RunError` naming process 0), so none is left waiting for
        the chief."""
        if self.num_processes == 1:
            return make()
        message = None
        if self.is_chief:
            try:
                payload = {"value": make()}
            except Exception as error:
                message, payload = error, {"error": str(error)}
        else:
            payload = {}
        received = json.loads(
            _broadcast_text(json.dumps(payload) if self.is_chief else "")
        )
        if message is not None:
            raise message
        if "error" in received:
            raise RunError(f"process 0 could not start the run: {received['error']}")
        return received["value"]

    def gather(self, value):
        """The int `value` of every process, in process order."""
        if self.num_processes == 1:
            return [int(value)]
        from jax.experimental import multihost_utils

        values = multihost_utils.process_allgather(np.asarray([value], np.int64))
        return np.asarray(values).reshape(-1).tolist()

    def prepare_backups(self, work, resumed):
        """Before training: a new run's other processes drop any stale backup
        of theirs (the chief's is in its new run folder); a resumed run makes
        every process resume from the same epoch.

        A process killed between two others' end-of-epoch backups leaves them
        one epoch apart; each keeps its backup before the last
        (`BackupAndRestore(double_checkpoint=True)`), and the ones ahead go
        back to it. Backups further apart are an error (on every process).
        Returns the number of epochs every process resumes after.
        """
        backup = self.backup_dir(work)
        if resumed:
            repair_backup(backup)
        if self.num_processes == 1:
            return backed_up_epochs(backup)
        if not resumed and not self.is_chief:
            shutil.rmtree(backup, ignore_errors=True)
        epochs = self.gather(backed_up_epochs(backup))
        low, mine = min(epochs), epochs[self.process_id]
        can_match = mine == low or backed_up_epochs(backup, ".bkp") == low
        if all(self.gather(can_match)):
            if mine != low:
                step_back(backup)
            return low
        found = ", ".join(f"process {i}: {n}" for i, n in enumerate(epochs))
        raise RunError(
            f"The processes' backups hold different numbers of epochs ({found}), "
            "so the run cannot resume; start it again with --overwrite"
        )

    def sync(self, name):
        """Wait until every process gets here."""
        if self.num_processes > 1:
            from jax.experimental import multihost_utils

            multihost_utils.sync_global_devices(f"textgru:{name}")

    def local_model(self, model, work):
        """The trained `model` as an ordinary one-device model, on the chief
        (through a `.keras` file in `work`, as one trained there would
        load); `None` on the other processes, which write nothing. With no
        distribution, `model` itself."""
        if not self.distributed:
            return model
        self.sync("trained")
        if not self.is_chief:
            return None
        path = Path(work) / DISTRIBUTED_MODEL
        model.save(path)
        local = keras.saving.load_model(path)
        path.unlink()
        return local

    def clean_up(self, work):
        """After the chief has finished the run: the other processes drop
        their backups (and the folders they made for them)."""
        self.sync("finished")
        if self.is_chief or not self.distributed:
            return
        backup = self.backup_dir(work)
        shutil.rmtree(backup, ignore_errors=True)
        for folder in (backup.parent, Path(work)):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty: the chief's, on a shared disk


def _broadcast_text(text):
    """Process 0's `text` on every process."""
    from jax.experimental import multihost_utils

    data = np.frombuffer(text.encode("utf-8"), np.uint8)
    size = int(multihost_utils.broadcast_one_to_all(np.int64(len(data))))
    buffer = np.zeros(size, np.uint8)
    buffer[: len(data)] = data[:size]
    return bytes(np.asarray(multihost_utils.broadcast_one_to_all(buffer))).decode()


@dataclasses.dataclass
class DistributeConfig(Section):
    """How a run spreads over devices and hosts (see this module)."""

    distribute: str = field(
        "none",
        "none, mirrored (the devices of this host) or multi-host (JAX backend, "
        "one process per host)",
    )
    devices: int | None = field(
        None,
        "devices per host (None: every GPU, or the CPU; on a host with no GPU, "
        "N splits the CPU into N logical devices)",
    )
    coordinator: str | None = field(
        None,
        "multi-host: HOST:PORT of process 0 (None: $KERAS_DISTRIBUTION_JOB_ADDRESSES)",
        launch=True,
    )
    num_processes: int | None = field(
        None,
        "multi-host: processes in all (None: $KERAS_DISTRIBUTION_NUM_PROCESSES)",
    )
    process_id: int | None = field(
        None,
        "multi-host: this process, 0 to num_processes - 1; 0 writes the run "
        "(None: $KERAS_DISTRIBUTION_PROCESS_ID)",
        launch=True,
    )

    def __post_init__(self):
        super().__post_init__()
        _validation.one_of("distribute", self.distribute, STRATEGIES)
        if self.devices is not None and self.devices < 1:
            raise InvalidArgumentError(
                f"Expected `devices` to be a positive integer. Received: {self.devices}"
            )
        cluster = [name for name in ENVIRONMENT if getattr(self, name) is not None]
        if self.distribute != "multi-host" and cluster:
            flags = ", ".join("--" + name.replace("_", "-") for name in cluster)
            raise InvalidArgumentError(f"{flags}: only with --distribute multi-host")
        if self.distribute == "none" and self.devices is not None:
            raise InvalidArgumentError(
                "--devices: only with --distribute mirrored or multi-host"
            )
        if self.num_processes is not None and self.num_processes < 1:
            raise InvalidArgumentError(
                "Expected `num_processes` to be a positive integer. Received: "
                f"{self.num_processes}"
            )
        if self.process_id is not None and self.process_id < 0:
            raise InvalidArgumentError(
                f"Expected `process_id` >= 0. Received: {self.process_id}"
            )


def setup(config):
    """Set this process up for `config.distribute` and return its
    `Distribution`. Call it before any TensorFlow or JAX work: devices and a
    JAX cluster can only be set up before the backend starts (a process
    joins one cluster; asking again for the same is fine)."""
    if config.distribute == "none":
        return Distribution()
    backend = keras.backend.backend()
    if backend == "tensorflow":
        distribution = _tensorflow(config)
    elif backend == "jax":
        distribution = _jax(config)
    else:
        raise InvalidArgumentError(
            f"--distribute {config.distribute} needs the TensorFlow or JAX backend. "
            f"Received: KERAS_BACKEND={backend}"
        )
    distribution.check_batch_size(config.batch_size)
    return distribution


def _cluster(config):
    """(coordinator, num_processes, process_id) from `config`, or else from
    Keras's environment variables."""
    values = []
    for name, variable in ENVIRONMENT.items():
        value = getattr(config, name)
        if value is None and os.environ.get(variable):
            text = os.environ[variable]
            try:
                value = text if name == "coordinator" else int(text)
            except ValueError:
                raise InvalidArgumentError(
                    f"Expected ${variable} to be an integer. Received: {text!r}"
                ) from None
        values.append(value)
    return tuple(values)


def _tensorflow(config):
    import tensorflow as tf

    if config.distribute == "multi-host":
        raise InvalidArgumentError(
            "--distribute multi-host runs on the JAX backend (set KERAS_BACKEND=jax): "
            "TensorFlow's MultiWorkerMirroredStrategy does not work with Keras 3 "
            "(keras-team/keras#20585)"
        )
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = [f"/gpu:{i}" for i in range(len(gpus))]
        if config.devices is not None:
            if config.devices > len(gpus):
                raise InvalidArgumentError(
                    f"--devices {config.devices}: this host has {len(gpus)} GPU(s)"
                )
            names = names[: config.devices]
    else:
        count = config.devices or 1
        _logical_cpus(tf, count)
        names = [f"/cpu:{i}" for i in range(count)]
    # One strategy per set of devices and process: two would reuse each
    # other's collective keys (a second run in a notebook then fails).
    strategy = _strategies.get(tuple(names))
    if strategy is None:
        strategy = _strategies[tuple(names)] = tf.distribute.MirroredStrategy(names)
    return Distribution("mirrored", strategy.num_replicas_in_sync, engine=strategy)


def _logical_cpus(tf, count):
    """Split the CPU into `count` logical devices (before TensorFlow starts;
    after, there must be that many already)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    present = tf.config.get_logical_device_configuration(cpu)
    if count == 1 or (present is not None and len(present) >= count):
        return
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
        )
    except RuntimeError:
        have = len(tf.config.list_logical_devices("CPU"))
        raise RunError(
            f"TensorFlow has already started with {have} CPU device(s), so it "
            f"cannot be split into {count}; run this in a new process"
        ) from None


def _join(*cluster):
    global _joined
    if _joined is None:
        # Keras takes the first of a comma-separated list as the coordinator.
        os.environ.setdefault(BIND_ADDRESS, cluster[0].split(",")[0].strip())
        keras.distribution.initialize(*cluster)
        _joined = cluster
    elif _joined != cluster:
        raise RunError(
            f"This process has joined another cluster (process {_joined[2]} of "
            f"{_joined[1]} at {_joined[0]}); start a new process for this run"
        )


def _jax(config):
    import jax

    coordinator, num_processes, process_id = _cluster(config)
    if config.devices is not None:
        # Only before JAX starts; if it has, the device count is checked below.
        with contextlib.suppress(RuntimeError):
            jax.config.update("jax_num_cpu_devices", config.devices)
    if config.distribute == "multi-host":
        missing = [
            f"--{name.replace('_', '-')} (or ${ENVIRONMENT[name]})"
            for name, value in zip(
                ENVIRONMENT, (coordinator, num_processes, process_id), strict=True
            )
            if value is None
        ]
        if missing:
            raise InvalidArgumentError(
                f"--distribute multi-host needs {', '.join(missing)}"
            )
        if process_id >= num_processes:
            raise InvalidArgumentError(
                f"Expected `process_id` < num_processes={num_processes}. "
                f"Received: {process_id}"
            )
        _join(coordinator, num_processes, process_id)
        devices = keras.distribution.list_devices()
    else:
        devices = keras.distribution.list_devices()
        if config.devices is not None:
            if config.devices > len(devices):
                raise InvalidArgumentError(
                    f"--devices {config.devices}: JAX sees {len(devices)} device(s)"
                    " (it had started before the devices could be set up; run "
                    "this in a new process)"
                )
            devices = devices[: config.devices]
    engine = keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False)
    return Distribution(
        config.distribute,
        len(devices),
        num_processes=jax.process_count(),
        process_id=jax.process_index(),
        engine=engine,
    )
