"""The session shared by the panels: a job's plan and model stay the ones it started with."""

import pytest

from optipfair_desktop.engine.plan import PruningPlan
from optipfair_desktop.engine.sources import open_source
from optipfair_desktop.engine.structure import read_structure
from optipfair_desktop.gui.session import Session
from tiny_models import save_tiny_model


@pytest.fixture
def session(qtbot, tmp_path):
    folders = []
    for name, architecture in (("a", "llama"), ("b", "qwen3")):
        save_tiny_model(tmp_path / name, architecture)
        folders.append(tmp_path / name)
    session = Session()
    source = open_source(str(folders[0]))
    session.open(source, read_structure(source.folder))
    session.other_folder = folders[1]
    return session


def test_planned_model_uses_plan_read_at_start(session):
    plan_at_start = session.plan.replace(remove_blocks=(1, 2))
    session.set_plan(plan_at_start)
    session.set_plan(session.plan.replace(remove_blocks=(4,)))
    result = session.build_planned_model(plan=plan_at_start, generation=session.generation)
    assert result.remaining_blocks == [0, 3, 4, 5]
    assert session.build_planned_model().remaining_blocks == [0, 1, 2, 3, 5]


def test_job_fails_when_another_model_opened(session):
    generation = session.generation
    source = open_source(str(session.other_folder))
    session.open(source, read_structure(source.folder))
    with pytest.raises(ValueError, match="Another model was opened"):
        session.load_model(generation=generation)
    plan = PruningPlan(remove_blocks=(1,))
    with pytest.raises(ValueError, match="Another model was opened"):
        session.build_planned_model(plan=plan, generation=generation)
    model, _ = session.load_model(generation=session.generation)
    assert model.config.model_type == "qwen3"
