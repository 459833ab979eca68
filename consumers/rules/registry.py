"""The rule registry: ``@rule(name, pattern=...)`` turns a function into a consumer.

A rule receives the typed event (an :class:`~events.Envelope`) and a read-only
:class:`RuleContext`, and returns new events and/or outbound mails. It never calls
AWS: the hooks consumer records what it returns. Each rule becomes an EventBridge
rule in AWS; locally its pattern is matched in-process by :mod:`events.pattern_match`
with EventBridge's semantics. Either way the pattern is checked here, at
registration, with EventBridge's rules (:mod:`events.pattern_rules`).

A built-in rule, or one registered directly, with a bad pattern raises at once. A
user's rule file is loaded leniently (:func:`load_user_rules`): a rule EventBridge
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
from typing import Any, Protocol

from events import DomainEvent, Envelope
from events.pattern_rules import InvalidPattern, validate_pattern

log = logging.getLogger("crm.rules")
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")


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


BUILTINS = Registry()
rule = BUILTINS.rule


def load_user_rules(target: str) -> None:
    """Import a user's rules: a module name (``my_rules``) or a folder of ``*.py`` files.

    Their ``@rule`` decorators register into the same registry as the built-ins; a rule
    whose name or pattern EventBridge would refuse is refused (``BUILTINS.refused``)
    and the others still load."""
    previous, BUILTINS.lenient = BUILTINS.lenient, True
    try:
        _load(target)
    finally:
        BUILTINS.lenient = previous


def _load(target: str) -> None:
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
    sys.modules[module_name] = module  # kept even if it fails: a broken file is not re-run per event
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        if not BUILTINS.lenient:
            raise
        # the rules it registered before failing stay; the others, and the mail flow, go on
        BUILTINS.refused[str(file)] = f"rules file {file}: {type(exc).__name__}: {exc}"
        log.error("refused %s", BUILTINS.refused[str(file)])


def default_registry(rules_module: str | None = None) -> Registry:
    """The built-in rules, plus the user's when ``rules_module`` (CRM_RULES_MODULE) is set."""
    importlib.import_module("consumers.rules.lead_scoring")
    importlib.import_module("consumers.rules.followups")
    importlib.import_module("consumers.rules.reply_notices")
    importlib.import_module("consumers.rules.reply_commands")
    if rules_module:
        load_user_rules(rules_module)
    return BUILTINS
