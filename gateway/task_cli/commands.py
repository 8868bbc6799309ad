"""The task commands, derived from the task table and the Python client's methods.

Every row of ``omnisense.schema.TABLE`` becomes one command: its verb is the client method's
name (``key_phrases`` -> ``key-phrases``), with the CLI's own words for two of them
(``synthesize`` -> ``say``, ``moderation`` -> ``moderate``); a verb that two modalities
share keeps it for the first row of the table and gets the modality after it for the next
(``moderate`` is vision.moderation, ``moderate-text`` is text.moderation). Video's verbs all
carry the modality in front (``video-labels``, ``video-shots``, ``video-moderate``): a file
argument alone does not tell a clip from a photo to someone reading the command. The options are
the parameters of the client method that sends the task (``--max-results``, ``--language``,
``--target-language``/``--to``, ``--voice``, ``--provider`` ...), read from its signature,
so the CLI offers exactly what the client does.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from omnisense.client.calls import Call
from omnisense.client.methods import Endpoint, Namespace
from omnisense.schema import TABLE, InputKind, Task, TaskSpec

VERB_WORDS = {"synthesize": "say", "moderation": "moderate"}  # the CLI's words; the rest is the method name
PREFIXED = frozenset({InputKind.VIDEO})  # modalities whose every verb starts with the modality: video-labels
ALIASES = {"target_language": ("--to",), "source_language": ("--from",), "provider": ("-p",)}
INPUT_PARAMS = frozenset({"image", "audio", "video", "text"})  # the positional input of every builder


@dataclass(frozen=True)
class Option:
    name: str  # the client parameter
    kind: type  # bool, int, float or str
    required: bool
    default: Any

    @property
    def flags(self) -> tuple[str, ...]:
        return ("--" + self.name.replace("_", "-"), *ALIASES.get(self.name, ()))


@dataclass(frozen=True)
class TaskCommand:
    verb: str
    spec: TaskSpec[Any, Any]
    build: Callable[..., Call[Any]]  # the client's call builder for the task
    options: tuple[Option, ...]

    @property
    def task(self) -> Task:
        return self.spec.task

    @property
    def input(self) -> InputKind:
        return self.spec.input


def endpoint_of(task: Task) -> Endpoint[Any, Any]:
    """The client's method for ``task`` (an ``Endpoint`` on one of the client's namespaces)."""
    for namespace in Namespace.__subclasses__():
        for value in vars(namespace).values():
            if isinstance(value, Endpoint) and value.task is task:
                return value
    raise LookupError(f"the Python client has no method for {task}")  # pragma: no cover - test_task_table checks


def _kind(annotation: Any) -> type:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = inner[0] if len(inner) == 1 else str
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation if annotation in (bool, int, float) else str


def options_of(build: Callable[..., Any]) -> tuple[Option, ...]:
    hints = typing.get_type_hints(type(build).__call__)
    out = []
    for param in inspect.signature(build).parameters.values():
        if param.name in INPUT_PARAMS:
            continue
        required = param.default is inspect.Parameter.empty
        out.append(Option(param.name, _kind(hints[param.name]), required, None if required else param.default))
    return tuple(out)


def task_commands() -> dict[str, TaskCommand]:
    """Verb -> command, one per row of the task table, in its order."""
    out: dict[str, TaskCommand] = {}
    for spec in TABLE.values():
        endpoint = endpoint_of(spec.task)
        word = VERB_WORDS.get(spec.method, spec.method).replace("_", "-")
        modality = spec.task.modality
        prefixed = spec.input in PREFIXED  # video-labels; a clash otherwise: moderate-text
        verb = f"{modality}-{word}" if prefixed else f"{word}-{modality}" if word in out else word
        out[verb] = TaskCommand(verb, spec, endpoint.build, options_of(endpoint.build))
    return out
