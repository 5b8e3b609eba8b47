"""Training machinery every task uses: the config sections, optimizers and
schedules, callbacks, the fit loop and stages, run directories, and
distribution over devices and hosts."""

from textgru.training import distribute, run_directory
from textgru.training.config import OptimizationConfig, RunConfig, TrainConfig
from textgru.training.distribute import DistributeConfig
from textgru.training.optimizers import (
    DiscriminativeAdamW,
    FusedAdamW,
    make_optimizer,
)
from textgru.training.schedules import SlantedTriangular, learning_rate_schedule

__all__ = [
    "DiscriminativeAdamW",
    "FusedAdamW",
    "DistributeConfig",
    "OptimizationConfig",
    "RunConfig",
    "SlantedTriangular",
    "TrainConfig",
    "distribute",
    "learning_rate_schedule",
    "make_optimizer",
    "run_directory",
]
