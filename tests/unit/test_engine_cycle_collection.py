"""The CLI holds Python's cycle collector off while it starts, and only the CLI does."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from local.engine import cycle_collection
from tests.support.fresh_interpreter import run_fresh


@pytest.fixture(autouse=True)
def collector_as_it_was() -> Iterator[None]:
    """Each test leaves gc as it found it: enabled as before, nothing frozen."""
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    cycle_collection._paused = False
    if enabled:
        gc.enable()
    else:
        gc.disable()


def test_pause_holds_collection_off_until_resume_which_freezes_what_the_start_made() -> None:
    gc.enable()
    gc.unfreeze()
    cycle_collection.pause()
    assert not gc.isenabled()

    cycle_collection.resume()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0


def test_resume_without_pause_leaves_the_collector_alone() -> None:
    # A job run inside another program (the local SageMaker service) calls resume too.
    gc.enable()
    gc.unfreeze()
    cycle_collection.resume()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_a_collector_someone_else_turned_off_stays_off() -> None:
    gc.disable()
    cycle_collection.pause()
    cycle_collection.resume()
    assert not gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_importing_the_cli_module_does_not_touch_the_collector() -> None:
    probe = (
        "import gc, sys; sys.path.insert(0, sys.argv[1]); import local.engine.__main__;"
        " print(gc.isenabled(), gc.get_freeze_count())"
    )
    assert run_fresh(probe).split() == ["True", "0"]
