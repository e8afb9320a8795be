"""Bursty documents: one latent mapping repeated several times, without instructions.

Two kinds, both built on the finding that in-context learning emerges when a
training document repeats one mapping and the set of mappings is too large to
memorise (Chan et al. 2022, "Data distributional properties drive emergent
in-context learning in transformers"; Raventós et al. 2023, "Pretraining task
diversity and the emergence of non-Bayesian in-context learning"):

* **task patterns**: 4-12 pairs from one built-in task spec (every family,
  including those of held-out categories), the way web text holds implicit
  tasks (tables, conversions, quizzes). The model learns to *recognise* a
  mapping from a few pairs and apply it to the next input.
* **random mappings**: each document invents its own key → value table and
  shows entries with repeats, so only the document itself tells the answer.
  This drives induction-style copying (find the earlier occurrence of the key,
  copy what followed), which lets demonstrations' labels and formats be copied
  whatever the task.
"""

from __future__ import annotations

import random

from instructmtl.corpus.builtin.formats import FORMATS, render_pairs
from instructmtl.errors import InstructMTLError
from instructmtl.tasks.builtin.spec import TaskSpec
from instructmtl.tasks.builtin.suite import input_side
from instructmtl.tasks.builtin.world import ATTRIBUTE_VALUES, World

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


#: Draws of a pair generator before a trained-side input is given up on (about half the draws qualify).
MAX_DRAWS = 200


def _trained_side_pair(spec: TaskSpec, rng: random.Random) -> tuple[str, str]:
    for _ in range(MAX_DRAWS):
        pair = spec.make_pair(rng)
        if input_side(pair[0]) == 0:
            return pair
    raise InstructMTLError(f"built-in task {spec.name}: no trained-side input in {MAX_DRAWS} draws; fix its family")


def task_pattern_document(
    spec: TaskSpec, rng: random.Random, min_pairs: int, max_pairs: int, trained_inputs_only: bool = False
) -> str:
    """``min_pairs``..``max_pairs`` pairs of one task, in one randomly chosen layout.

    With ``trained_inputs_only`` every input is from the trained half of its input space
    (:func:`~instructmtl.tasks.builtin.suite.input_side`): held-out built-in tasks draw
    their instances from the other half, so no held-out eval instance is ever shown as a
    pair, whichever categories a study holds out.
    """
    n = rng.randint(min_pairs, max_pairs)
    pairs = [_trained_side_pair(spec, rng) if trained_inputs_only else spec.make_pair(rng) for _ in range(n)]
    return render_pairs(pairs, rng.choice(FORMATS), rng)


def _random_token(rng: random.Random, world: World) -> str:
    """A key or value: a world name, a closed-set attribute word, a number or a letter string."""
    roll = rng.random()
    if roll < 0.3:
        return rng.choice(world.entities).name
    if roll < 0.55:
        values = rng.choice(list(ATTRIBUTE_VALUES.values()))
        return rng.choice(values)
    if roll < 0.8:
        return str(rng.randint(0, 999))
    return "".join(rng.choice(_LETTERS) for _ in range(rng.randint(2, 5)))


def random_mapping_document(
    world: World, rng: random.Random, min_pairs: int, max_pairs: int, trained_inputs_only: bool = False
) -> str:
    """A fresh random key → value table, shown ``min_pairs``..``max_pairs`` times with repeated keys.

    Keys are distinct within the document; with 2-6 keys and up to 12 shown
    entries, most keys recur, and every recurrence is predictable only from the
    document's earlier lines. With ``trained_inputs_only`` keys come from the trained half
    of the input space, so no key → value line can show a held-out instance as a pair.
    """
    n_keys = rng.randint(2, 6)
    keys: list[str] = []
    while len(keys) < n_keys:
        key = _random_token(rng, world)
        if trained_inputs_only and input_side(key) != 0:
            continue
        if key not in keys:
            keys.append(key)
    table = {k: _random_token(rng, world) for k in keys}
    shown = [rng.choice(keys) for _ in range(rng.randint(min_pairs, max_pairs))]
    return render_pairs([(k, table[k]) for k in shown], rng.choice(FORMATS), rng)
