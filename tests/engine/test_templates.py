"""Chat templates render the model's own Jinja in an immutable sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from causerie.core.errors import InvalidRequestError, ModelLoadError
from causerie.core.types import Message
from causerie.engine.models import inspect_model
from causerie.engine.templates import ChatTemplate


def test_renders_the_bundled_template(model_path: Path) -> None:
    spec = inspect_model(model_path)
    template = ChatTemplate(spec.chat_template, bos_token=spec.bos_token, eos_token=spec.eos_token)
    text = template.render([Message("system", "Be brief."), Message("user", "Hi")])
    assert text == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    default = template.render([Message("user", "Hi")])
    assert default.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")


def test_falls_back_to_chatml() -> None:
    text = ChatTemplate(None).render([Message("user", "Hi")])
    assert text == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ messages.__class__ }}{{ cycler.__init__.__globals__ }}",
        "{% set x = [] %}{{ x.append(1) }}",
        "{{ messages.append(1) }}",
    ],
)
def test_sandbox_blocks_escapes_and_mutation(source: str) -> None:
    with pytest.raises(InvalidRequestError):
        ChatTemplate(source).render([Message("user", "Hi")])


def test_raise_exception_and_broken_templates() -> None:
    template = ChatTemplate("{{ raise_exception('roles must alternate') }}")
    with pytest.raises(InvalidRequestError, match="roles must alternate"):
        template.render([Message("user", "Hi")])
    with pytest.raises(ModelLoadError):
        ChatTemplate("{% for %}")
