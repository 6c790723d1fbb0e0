"""The JSON API's policy library: the rules and their versions, read-only.

Every logged-in reviewer may read; admins change rules in the console. The
conventions are routes/api.py's: the same login and refusals.
"""

from __future__ import annotations

from consultant.policies import store
from consultant.web.api_models import problems
from consultant.web.api_policy_models import (
    PolicyDetailOut,
    PolicyOut,
    PolicyVersionOut,
    RuleId,
    RuleVersion,
    WithRetired,
)
from consultant.web.deps import DB, ApiLogin
from consultant.web.refusals import refusals
from consultant.web.routes.api_common import api_router

policies = api_router("policies")


@policies.get("/policies", responses=problems(422))
def list_policies(login: ApiLogin, session: DB, all: WithRetired = False) -> list[PolicyOut]:
    """The rules in use (each rule's newest version), in id order; `all`: retired too."""
    return [PolicyOut.of(found) for found in store.newest_versions(session, retired=all)]


@policies.get("/policies/{rule_id}", responses=problems(404, 422))
def get_policy(
    login: ApiLogin, session: DB, rule_id: RuleId, version: RuleVersion = None
) -> PolicyDetailOut:
    """One rule as its newest version (or `version`) says it, with every version."""
    with refusals():
        shown, versions = store.one_version(session, rule_id, version)
    history = [PolicyVersionOut.of(found) for found in versions]
    return PolicyDetailOut(**PolicyOut.of(shown).model_dump(), versions=history)
