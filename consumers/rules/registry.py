"""The rule registry: ``@rule(name, pattern=...)`` turns a function into a consumer.

A rule receives the typed event (an :class:`~events.Envelope`) and a read-only
:class:`RuleContext`, and returns new events and/or outbound mails. It never calls
AWS: the hooks consumer records what it returns. Matching is EventBridge's own:
each rule becomes an EventBridge rule (locally on the embedded EventBridge), so the
pattern is validated here but never evaluated here.

>>> registry = Registry()
>>> @registry.rule("hello", pattern={"detail-type": ["FirstContact"]})
... def hello(event, context):
...     return []
>>> [r.name for r in registry.rules()]
['hello']
>>> registry.rule("bad", pattern={"detail-type": "FirstContact"})(hello)
Traceback (most recent call last):
...
consumers.rules.registry.PatternError: rule 'bad': pattern at 'detail-type' must be a list or an object, got str
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from events import DomainEvent, Envelope

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")
_OPERATORS = {"prefix", "suffix", "anything-but", "numeric", "exists", "equals-ignore-case", "wildcard", "cidr"}
_NUMERIC_OPS = {"<", "<=", "=", ">", ">="}


class PatternError(ValueError):
    """A rule's name or EventBridge pattern is not valid; the message names the rule."""


@dataclass(frozen=True)
class OutboundMail:
    """A mail a rule wants sent; only the owner's private mailbox may receive rule mail."""

    kind: str  # reminder | notice
    subject: str
    text: str
    conversation_id: str | None = None


class RuleContext(Protocol):
    """What a rule may read. Nothing here writes."""

    now: str

    def conversation(self, conversation_id: str) -> Mapping[str, Any] | None: ...

    def stream(self, stream_id: str) -> list[Envelope]: ...

    def setting(self, name: str) -> Any: ...


RuleFunction = Callable[[Envelope, RuleContext], Iterable[DomainEvent | OutboundMail] | None]


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: dict[str, Any]
    function: RuleFunction
    description: str = ""


def _validate_leaf(path: str, values: list[Any]) -> None:
    if not values:
        raise ValueError(f"pattern at {path!r} is an empty list, which matches nothing")
    for value in values:
        if isinstance(value, dict):
            if len(value) != 1:
                raise ValueError(f"pattern at {path!r}: an operator object holds exactly one operator, got {value}")
            (op, arg), = value.items()
            if op not in _OPERATORS:
                raise ValueError(f"pattern at {path!r}: unknown operator {op!r} (known: {', '.join(sorted(_OPERATORS))})")
            if op == "exists" and not isinstance(arg, bool):
                raise ValueError(f"pattern at {path!r}: 'exists' takes true or false")
            if op in {"prefix", "suffix", "equals-ignore-case", "wildcard", "cidr"} and not isinstance(arg, (str, dict)):
                raise ValueError(f"pattern at {path!r}: {op!r} takes a string")
            if op == "numeric":
                if not isinstance(arg, list) or len(arg) not in (2, 4):
                    raise ValueError(f"pattern at {path!r}: 'numeric' takes [op, n] or [op, n, op, n]")
                for i in range(0, len(arg), 2):
                    if arg[i] not in _NUMERIC_OPS or isinstance(arg[i + 1], bool) or not isinstance(
                        arg[i + 1], (int, float)
                    ):
                        raise ValueError(f"pattern at {path!r}: bad numeric comparison {arg[i:i + 2]}")
        elif value is not None and not isinstance(value, (str, int, float, bool)):
            raise ValueError(f"pattern at {path!r}: {value!r} is not a value EventBridge can match")


def validate_pattern(pattern: Any, path: str = "") -> None:
    """Raise ValueError unless ``pattern`` is a well-formed EventBridge event pattern."""
    if not isinstance(pattern, dict) or not pattern:
        raise ValueError(f"pattern at {path or 'top'!r} must be a non-empty object")
    for key, value in pattern.items():
        here = f"{path}.{key}" if path else key
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                raise ValueError(f"pattern at {here!r}: '$or' takes a list of at least two patterns")
            for i, alternative in enumerate(value):
                validate_pattern(alternative, f"{here}[{i}]")
        elif isinstance(value, dict):
            validate_pattern(value, here)
        elif isinstance(value, list):
            _validate_leaf(here, value)
        else:
            raise ValueError(f"pattern at {here!r} must be a list or an object, got {type(value).__name__}")


@dataclass
class Registry:
    _rules: dict[str, Rule] = field(default_factory=dict)

    def rule(self, name: str, *, pattern: dict[str, Any], description: str = "") -> Callable[[RuleFunction], RuleFunction]:
        def register(function: RuleFunction) -> RuleFunction:
            if not NAME.match(name):
                raise PatternError(f"rule {name!r}: a name is 1-41 lowercase letters, digits and dashes")
            try:
                validate_pattern(pattern)
            except ValueError as exc:
                raise PatternError(f"rule {name!r}: {exc}") from None
            existing = self._rules.get(name)
            if existing is not None and existing.function is not function:
                raise PatternError(f"rule {name!r} is registered twice")
            self._rules[name] = Rule(name, pattern, function, description or (function.__doc__ or "").strip())
            return function

        return register

    def rules(self) -> list[Rule]:
        return sorted(self._rules.values(), key=lambda r: r.name)

    def get(self, name: str) -> Rule:
        try:
            return self._rules[name]
        except KeyError:
            raise KeyError(f"no rule named {name!r}; registered: {', '.join(sorted(self._rules)) or 'none'}") from None


BUILTINS = Registry()
rule = BUILTINS.rule


def load_user_rules(target: str) -> None:
    """Import a user's rules: a module name (``my_rules``) or a folder of ``*.py`` files.

    Their ``@rule`` decorators register into the same registry as the built-ins."""
    path = Path(target)
    if path.is_dir():
        for file in sorted(path.glob("*.py")):
            _load_file(file)
    elif path.suffix == ".py" and path.is_file():
        _load_file(path)
    else:
        importlib.import_module(target)


def _load_file(file: Path) -> None:
    module_name = f"crm_user_rules.{file.stem}"
    if module_name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise PatternError(f"cannot load rules from {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)


def default_registry(rules_module: str | None = None) -> Registry:
    """The built-in rules, plus the user's when ``rules_module`` (CRM_RULES_MODULE) is set."""
    importlib.import_module("consumers.rules.lead_scoring")
    importlib.import_module("consumers.rules.followups")
    importlib.import_module("consumers.rules.reply_notices")
    if rules_module:
        load_user_rules(rules_module)
    return BUILTINS
