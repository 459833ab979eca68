"""Hook rules: the registry, and the built-ins written the way a user writes one."""

from consumers.rules.registry import OutboundMail, Registry, Rule, RuleContext, rule

__all__ = ["OutboundMail", "Registry", "Rule", "RuleContext", "rule"]
