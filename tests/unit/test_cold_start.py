"""What a function's cold start pays for the layer: its pydantic models are built on first
use, not at import (building the layer's 57 models' validators was about 45 ms of each
worker's import, on AWS as locally), and each of them still builds."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import izin
import pytest
from pydantic import BaseModel


def _layer_models() -> list[type[BaseModel]]:
    models: dict[str, type[BaseModel]] = {}
    for module in pkgutil.walk_packages(izin.__path__, "izin."):
        for value in vars(importlib.import_module(module.name)).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseModel)
                and value.__module__.startswith("izin.")
            ):
                models[f"{value.__module__}.{value.__qualname__}"] = value
    return [models[name] for name in sorted(models)]


MODELS = _layer_models()


def test_the_layer_has_its_models():
    assert len(MODELS) >= 50, [model.__name__ for model in MODELS]


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__qualname__)
def test_a_model_builds_on_first_use_and_builds(model: type[BaseModel]):
    assert model.model_config.get("defer_build") is True, (
        "give the model defer_build=True in its model_config: a cold start builds it otherwise"
    )
    assert model.model_rebuild(force=True) is not False
    assert model.__pydantic_complete__
