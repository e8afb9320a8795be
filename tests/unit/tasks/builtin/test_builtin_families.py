"""Every built-in task family: pure pair generators with short, correct outputs.

Correctness is checked against independent re-implementations (and against
the world's facts for lookup tasks), not against the family code itself.
"""

from __future__ import annotations

import random

import pytest

from instructmtl.tasks.builtin import MAX_TASKS, TaskSpec, World, build_world, task_specs
from instructmtl.tasks.builtin.world import ENTITY_ATTRIBUTES

DRAWS = 30


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(0)


@pytest.fixture(scope="module")
def specs(world: World) -> list[TaskSpec]:
    return task_specs(world, MAX_TASKS)


def _pairs(spec: TaskSpec, n: int = DRAWS, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(f"test-{seed}-{spec.name}")
    return [spec.make_pair(rng) for _ in range(n)]


def _by_suffix(specs: list[TaskSpec], suffix: str) -> TaskSpec:
    (spec,) = [s for s in specs if s.name.split("_", 1)[1] == suffix]
    return spec


def _ints(text: str) -> list[int]:
    inner = text.strip("[]")
    return [int(x) for x in inner.split(", ")] if inner else []


def test_every_spec_gives_short_pairs_it_can_explain(specs: list[TaskSpec]) -> None:
    for spec in specs:
        for inp, out in _pairs(spec, 10):
            assert isinstance(inp, str) and isinstance(out, str) and inp and out, spec.name
            assert len(inp.split()) <= 40 and len(out.split()) <= 15, (spec.name, inp, out)
            assert out in spec.explain(inp, out), spec.name


def test_make_pair_is_a_pure_function_of_the_rng(specs: list[TaskSpec]) -> None:
    state = random.getstate()
    for spec in specs[::7]:
        assert _pairs(spec, 5, seed=1) == _pairs(spec, 5, seed=1), spec.name
    assert random.getstate() == state


def test_outputs_are_a_function_of_inputs(specs: list[TaskSpec]) -> None:
    for spec in specs:
        seen: dict[str, str] = {}
        for inp, out in _pairs(spec, 60):
            assert seen.setdefault(inp, out) == out, (spec.name, inp)


def test_classification_specs_use_several_of_their_labels(specs: list[TaskSpec]) -> None:
    for spec in (s for s in specs if s.labels is not None):
        outputs = {out for _, out in _pairs(spec, 80)}
        assert outputs <= set(spec.labels), spec.name
        assert len(outputs) >= 2, spec.name


def test_families_are_consistent(specs: list[TaskSpec]) -> None:
    categories: dict[str, set[str]] = {}
    for spec in specs:
        categories.setdefault(spec.family, set()).add(spec.category)
    assert all(len(c) == 1 for c in categories.values())
    assert len(categories) >= 60


def test_list_transforms(specs: list[TaskSpec]) -> None:
    checks = {
        "list_reverse": lambda xs: xs[::-1],
        "list_first_3": lambda xs: xs[:3],
        "list_last_2": lambda xs: xs[-2:],
        "list_keep_even": lambda xs: [x for x in xs if x % 2 == 0],
        "list_rotate_left_2": lambda xs: xs[2:] + xs[:2],
        "sort_ascending": sorted,
        "sort_descending": lambda xs: sorted(xs)[::-1],
        "list_add_2": lambda xs: [x + 2 for x in xs],
        "smallest_2": lambda xs: sorted(xs)[:2],
    }
    for suffix, fn in checks.items():
        for inp, out in _pairs(_by_suffix(specs, suffix)):
            assert _ints(out) == fn(_ints(inp)), (suffix, inp, out)


def test_number_tasks(specs: list[TaskSpec]) -> None:
    for inp, out in _pairs(_by_suffix(specs, "list_sum")):
        assert int(out) == sum(_ints(inp))
    for inp, out in _pairs(_by_suffix(specs, "add_5")):
        assert int(out) == int(inp) + 5
    for inp, out in _pairs(_by_suffix(specs, "remainder_mod_3")):
        assert int(out) == int(inp) % 3
    for inp, out in _pairs(_by_suffix(specs, "two_number_difference")):
        a, b = map(int, inp.split(", "))
        assert int(out) == a - b
    for inp, out in _pairs(_by_suffix(specs, "even_or_odd")):
        assert out == ("even" if int(inp) % 2 == 0 else "odd")
    for inp, out in _pairs(_by_suffix(specs, "divisible_by_7")):
        assert out == ("yes" if int(inp) % 7 == 0 else "no")
    for inp, out in _pairs(_by_suffix(specs, "compare_two_numbers")):
        a, b = map(int, inp.split(", "))
        assert out == ("greater" if a > b else "less" if a < b else "equal")


def _caesar(text: str, k: int) -> str:
    return "".join(chr((ord(c) - 97 + k) % 26 + 97) if c.isalpha() else c for c in text)


def test_ciphers(specs: list[TaskSpec]) -> None:
    for k in (1, 3, 7, 13, 25):
        for inp, out in _pairs(_by_suffix(specs, f"caesar_shift_{k}")):
            assert out == _caesar(inp, k)
    for inp, out in _pairs(_by_suffix(specs, "atbash_cipher")):
        assert out == "".join(chr(219 - ord(c)) if c.isalpha() else c for c in inp)
    for inp, out in _pairs(_by_suffix(specs, "letters_to_numbers")):
        assert "".join(chr(int(n) + 96) for n in out.split()) == inp


def test_string_and_word_tasks(specs: list[TaskSpec]) -> None:
    for inp, out in _pairs(_by_suffix(specs, "reverse_word")):
        assert out == inp[::-1]
    for inp, out in _pairs(_by_suffix(specs, "replace_a_with_o")):
        assert out == inp.replace("a", "o") and "a" in inp
    for inp, out in _pairs(_by_suffix(specs, "count_vowels")):
        assert int(out) == sum(inp.count(v) for v in "aeiou")
    to_words = dict(_pairs(_by_suffix(specs, "number_to_words"), 200))
    to_number = dict(_pairs(_by_suffix(specs, "words_to_number"), 200))
    assert to_words["42"] == "forty-two" and to_words["13"] == "thirteen" and to_words["70"] == "seventy"
    assert all(to_number[w] == n for n, w in to_words.items() if w in to_number)
    assert dict(_pairs(_by_suffix(specs, "word_plural"), 300))["child"] == "children"


def test_lookup_outputs_are_world_facts(specs: list[TaskSpec], world: World) -> None:
    lookups = [s for s in specs if s.family == "entity_lookup"]
    assert len(lookups) >= 10
    for spec in lookups:
        kind, attribute = spec.name.split("_")[2:4]  # builtinNNN_lookup_<kind>_<attribute>
        for inp, out in _pairs(spec):
            entity = world.entity(inp)
            assert entity.kind == kind and entity.get(attribute) == out, spec.name


def _follow(world: World, name: str, chain: list[str]) -> str:
    value = name
    for attribute in chain:
        value = world.entity(value).get(attribute)
    return value


def test_multi_hop_outputs_follow_the_chain(specs: list[TaskSpec], world: World) -> None:
    chains = {
        "multihop_person_city_country": ["city", "country"],
        "multihop_person_city_country_language": ["city", "country", "language"],
        "multihop_person_pet_diet": ["pet", "diet"],
        "multihop_city_country_continent": ["country", "continent"],
    }
    for suffix, chain in chains.items():
        spec = _by_suffix(specs, suffix)
        assert spec.category == "Multi-hop Lookup" and spec.labels is not None
        for inp, out in _pairs(spec):
            assert out == _follow(world, inp, chain), (suffix, inp)
    assert ("city", "country") in ENTITY_ATTRIBUTES  # the chains above rely on it


def test_fact_verification_matches_the_world(specs: list[TaskSpec], world: World) -> None:
    for inp, out in _pairs(_by_suffix(specs, "is_animal_diet_herbivore"), 60):
        assert out == ("yes" if world.entity(inp).get("diet") == "herbivore" else "no")
    answers = set()
    for inp, out in _pairs(_by_suffix(specs, "person_lives_in_city"), 60):
        person, city = (part.split(": ")[1] for part in inp.rstrip(".").split(". "))
        assert out == ("yes" if world.entity(person).get("city") == city else "no")
        answers.add(out)
    assert answers == {"yes", "no"}  # balanced drawing reaches both answers
