"""The launch check refuses distributed runs that accelerate did not set up as asked."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from accelerate.utils import DistributedType

from instructmtl.errors import ConfigError
from instructmtl.training.distributed import check_launch


@dataclass
class FakeAccelerator:
    """The two attributes the check reads, as accelerate reports them."""

    distributed_type: DistributedType
    num_processes: int


def test_plain_and_matching_launches_pass() -> None:
    check_launch(FakeAccelerator(DistributedType.NO, 1), env={})
    check_launch(FakeAccelerator(DistributedType.MULTI_CPU, 2), env={"WORLD_SIZE": "2"})


def test_active_fsdp_is_refused_until_checkpoints_gather_shards() -> None:
    with pytest.raises(ConfigError, match="FSDP is not supported by `instructmtl tune` yet") as err:
        check_launch(FakeAccelerator(DistributedType.FSDP, 2), env={"WORLD_SIZE": "2", "ACCELERATE_USE_FSDP": "true"})
    assert "\n" not in str(err.value) and "--multi_gpu" in str(err.value)


def test_fsdp_requested_but_inactive_is_refused() -> None:
    # what accelerate 1.15 gives on CPU, with or without ACCELERATE_USE_CPU
    for accelerator in (FakeAccelerator(DistributedType.NO, 1), FakeAccelerator(DistributedType.MULTI_CPU, 2)):
        with pytest.raises(ConfigError, match="FSDP was requested") as err:
            check_launch(accelerator, env={"WORLD_SIZE": "2", "ACCELERATE_USE_FSDP": "true"})
        assert "\n" not in str(err.value)


def test_launched_processes_that_formed_no_group_are_refused() -> None:
    with pytest.raises(ConfigError, match="2 processes were launched but accelerate formed a group of 1"):
        check_launch(FakeAccelerator(DistributedType.NO, 1), env={"WORLD_SIZE": "2"})


@pytest.mark.parametrize("raw", ["two", "0", "-1", ""])
def test_a_malformed_world_size_is_a_one_line_error(raw: str) -> None:
    with pytest.raises(ConfigError, match="WORLD_SIZE") as info:
        check_launch(FakeAccelerator(DistributedType.NO, 1), env={"WORLD_SIZE": raw})
    assert "\n" not in str(info.value)
