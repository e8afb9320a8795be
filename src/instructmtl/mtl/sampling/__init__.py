"""Task samplers: how often each training task is drawn, possibly moving over training.

Each sampler is an immutable object with one method,
``probabilities(sizes, progress) -> {task: p}``; :func:`draw_tasks` turns
probabilities into task names with a generator passed in. What was drawn is
counted by the training loop (``TrainerState.task_counts``, saved with its
resumable state).
"""

from instructmtl.mtl.sampling._common import TaskSampler
from instructmtl.mtl.sampling.anneal import Anneal, ReverseAnneal, inverse_temperature
from instructmtl.mtl.sampling.draw import Generator, draw_tasks
from instructmtl.mtl.sampling.mixture import Mixture, MixtureComponent, mixture_from_config
from instructmtl.mtl.sampling.proportional import Proportional
from instructmtl.mtl.sampling.temperature import Temperature, tempered
from instructmtl.mtl.sampling.uniform import Uniform

__all__ = [
    "Anneal",
    "Generator",
    "Mixture",
    "MixtureComponent",
    "Proportional",
    "ReverseAnneal",
    "TaskSampler",
    "Temperature",
    "Uniform",
    "draw_tasks",
    "inverse_temperature",
    "mixture_from_config",
    "tempered",
]
