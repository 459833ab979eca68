"""The rule registry: ``@rule(name, pattern=...)`` turns a function into a consumer.

A rule receives the typed event (an :class:`~events.Envelope`) and a read-only
:class:`RuleContext`, and returns new events and/or outbound mails. It never calls
AWS: the hooks consumer records what it returns. Each rule becomes an EventBridge
rule in AWS; locally its pattern is matched in-process by :mod:`events.pattern_match`
with EventBridge's semantics. Either way the pattern is checked here, at
registration, with EventBridge's rules (:mod:`events.pattern_rules`).

``@rule`` only marks the function; nothing is registered as a side effect of an
import. The composition root builds the registry explicitly (:func:`build_registry`,
called by ``bootstrap.rules``) from the built-in rule modules it names and the user's
rules module or folder. A built-in rule, or one registered directly, with a bad
pattern raises at once. A user's rules are collected leniently: a rule EventBridge
would refuse is refused with its error (``registry.refused``, logged), and the other
rules and the mail flow go on.

>>> registry = Registry()
>>> @registry.rule("hello", pattern={"detail-type": ["FirstContact"]})
... def hello(event, context):
...     return []
>>> [r.name for r in registry.rules()]
['hello']
>>> registry.rule("bad", pattern={"source": [{"exists": 1}]})(hello)
Traceback (most recent call last):
...
consumers.rules.registry.PatternError: rule 'bad': pattern at 'source[0].exists': 'exists' takes true or false, got a number
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import msgspec

from events import DomainEvent, Envelope
from events.pattern_rules import InvalidPattern, validate_pattern

log = logging.getLogger("crm.rules")
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")


class PatternError(ValueError):
    """A rule's name or EventBridge pattern is not valid; the message names the rule."""


class OutboundMail(msgspec.Struct, frozen=True):
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


class Rule(msgspec.Struct, frozen=True):
    name: str
    pattern: dict[str, Any]
    function: RuleFunction
    description: str = ""


@dataclass
class Registry:
    _rules: dict[str, Rule] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # rule name -> why (lenient loading only)
    lenient: bool = False

    def rule(self, name: str, *, pattern: dict[str, Any], description: str = "") -> Callable[[RuleFunction], RuleFunction]:
        def register(function: RuleFunction) -> RuleFunction:
            try:
                check_rule(name, pattern)
                existing = self._rules.get(name)
                if existing is not None and existing.function is not function:
                    raise PatternError(f"rule {name!r} is registered twice")
            except PatternError as exc:
                if not self.lenient:
                    raise
                self.refused[name if name not in self._rules else f"{name} (again)"] = str(exc)
                log.error("refused %s", exc)
                return function
            self.refused.pop(name, None)
            self._rules[name] = Rule(name, pattern, function, description or (function.__doc__ or "").strip())
            return function

        return register

    def rules(self) -> list[Rule]:
        return sorted(self._rules.values(), key=lambda r: r.name)

    def patterns(self) -> dict[str, dict[str, Any]]:
        """Each registered rule's pattern, by rule name."""
        return {r.name: r.pattern for r in self.rules()}

    def get(self, name: str) -> Rule:
        try:
            return self._rules[name]
        except KeyError:
            raise KeyError(f"no rule named {name!r}; registered: {', '.join(sorted(self._rules)) or 'none'}") from None


def check_rule(name: str, pattern: Any) -> None:
    """Raise PatternError (naming the rule, the place in the pattern and the problem)
    unless EventBridge would accept a rule with this name and pattern."""
    if not isinstance(name, str) or not NAME.match(name):
        raise PatternError(f"rule {name!r}: a name is 1-41 lowercase letters, digits and dashes")
    try:
        validate_pattern(pattern)
    except InvalidPattern as exc:
        raise PatternError(f"rule {name!r}: {exc}") from None


RULE_MARK = "__crm_rules__"  # the (name, pattern, description) of each @rule on a function
LOAD_ERROR = "__crm_load_error__"  # why a user's rules file failed half-way, kept on its module


def rule(name: str, *, pattern: dict[str, Any], description: str = "") -> Callable[[RuleFunction], RuleFunction]:
    """Mark ``function`` as the hook rule ``name``: :func:`build_registry` registers it
    when it collects the function's module (checked then, with EventBridge's rules)."""

    def mark(function: RuleFunction) -> RuleFunction:
        marks = [*getattr(function, RULE_MARK, []), (name, pattern, description)]
        setattr(function, RULE_MARK, marks)
        return function

    return mark


def collect(registry: Registry, module: ModuleType) -> None:
    """Register every marked function of ``module``, in the order they are defined."""
    for value in list(vars(module).values()):
        for name, pattern, description in getattr(value, RULE_MARK, []) if callable(value) else []:
            registry.rule(name, pattern=pattern, description=description)(value)


def build_registry(builtin_modules: Iterable[str], rules_module: str | None = None) -> Registry:
    """The built-in rules (their modules, by name), plus the user's when ``rules_module``
    (CRM_RULES_MODULE: a module name or a folder of ``*.py`` files) is set."""
    registry = Registry()
    for module_name in builtin_modules:
        collect(registry, importlib.import_module(module_name))
    if rules_module:
        registry.lenient = True
        for label, module in _user_modules(rules_module):
            collect(registry, module)
            error = getattr(module, LOAD_ERROR, None)
            if error:
                registry.refused[label] = error
        registry.lenient = False
    return registry


def _user_modules(target: str) -> list[tuple[str, ModuleType]]:
    path = Path(target)
    if path.is_dir():
        return [(str(file), _load_file(file)) for file in sorted(path.glob("*.py"))]
    if path.suffix == ".py" and path.is_file():
        return [(str(path), _load_file(path))]
    return [(target, importlib.import_module(target))]


def _load_file(file: Path) -> ModuleType:
    module_name = f"crm_user_rules.{file.stem}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise PatternError(f"cannot load rules from {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # kept even if it fails: a broken file is not re-run per event
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        # the rules it defined before failing stay; the others, and the mail flow, go on
        setattr(module, LOAD_ERROR, f"rules file {file}: {type(exc).__name__}: {exc}")
        log.error("refused %s", getattr(module, LOAD_ERROR))
    return module
