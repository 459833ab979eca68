"""Each Lambda handler's import graph holds only what that handler uses (issue 19).

One fresh interpreter per handler imports its module and builds the container's
services (``bootstrap.for_lambda``), as a cold start's first invocation does, then
lists ``sys.modules``: the CLI, the local and moto stacks, the embedded engine's
adapters, moto, and the extraction libraries outside the attachments handler
must not be there. So a heavy import added anywhere under a handler (an adapter,
``ports``, ``events``, a helper) fails here, naming the handler and the module.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tools.packaging import ROOT, handlers

# never in any handler's cold start: other backends, the CLI's stacks, test tools, and
# Powertools utilities no handler uses (the batch utility loads its parser models)
HEAVY = (
    "moto",
    "crm.cli",
    "crm.local",
    "crm.moto_stack",
    "crm.provision",
    "crm.serve",
    "crm.demo",
    "sqlite3",
    "_sqlite3",
    "adapters.local_",
    "pytest",
    "hypothesis",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.parser",
    "aws_lambda_powertools.utilities.data_classes",
    "pydantic_settings",  # settings read their sources themselves (crm.settings)
    "pydantic",  # events and settings are msgspec structs: pydantic's import is ~0.75× boto3's
)
# the attachments handler extracts text; no other handler should pay for it
EXTRACTION = ("pypdf", "docx", "consumers.extraction")
MODULES = sorted({h.rpartition(".")[0] for h in handlers()})
SCRIPT = (
    "import importlib, sys\nimportlib.import_module(sys.argv[1])\nif sys.argv[2:]:\n"
    "    import bootstrap\n    assert bootstrap.for_lambda().backend == 'aws'\n"
    "print('\\n'.join(sorted(sys.modules)))\n"
)


def _loaded(module: str, *, services: bool = True) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true"})
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, module, *(["services"] if services else [])],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return set(done.stdout.split())


def _matching(loaded: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in loaded if any(m == p or m.startswith(p if p.endswith("_") else p + ".") for p in prefixes))


def test_every_deployed_handler_is_checked() -> None:
    assert {"producers.inbound", "consumers.projector", "consumers.attachments"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_a_handler_imports_nothing_heavy_it_does_not_use(module: str) -> None:
    loaded = _loaded(module)
    assert module in loaded and "adapters.event_store" in loaded  # it did import and build the aws adapters
    heavy = _matching(loaded, HEAVY if module == "consumers.attachments" else HEAVY + EXTRACTION)
    assert heavy == [], f"{module} imports {heavy}"


def test_the_check_sees_a_heavy_module_when_one_is_imported() -> None:
    # the detector itself: a module known to pull in the local engine is caught
    assert _matching(_loaded("crm.local", services=False), HEAVY)
    assert _matching({"pypdf", "pypdf._page", "docx2"}, EXTRACTION) == ["pypdf", "pypdf._page"]
