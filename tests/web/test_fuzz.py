"""Property-based fuzzing of every operation in the app's OpenAPI schema (Schemathesis + Hypothesis),
on each database, as a signed-in administrator, a signed-in patient and a stranger: whatever is sent,
never a server error (5xx) and never a traceback in the answer.

Bounded (FUZZ_EXAMPLES per operation and role, derandomised so CI is reproducible): about a
minute per database on a 2-core machine. Raise SYNKINESIS_FUZZ_EXAMPLES for a deeper run.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings

from synkinesis.web.security import CSRF_COOKIE, SESSION_COOKIE

from .conftest import login

FUZZ_EXAMPLES = int(os.environ.get("SYNKINESIS_FUZZ_EXAMPLES", "25"))
SKIP = {("POST", "/logout")}  # would end the fuzzing session itself; covered by test_auth


def _operations(app):
    schema = schemathesis.openapi.from_dict(app.openapi())
    schema.app = app
    ops = [r.ok() for r in schema.get_all_operations()]
    return [op for op in ops if (op.method.upper(), op.path) not in SKIP]


def _fuzz(op, cookies: dict, headers: dict, failures: list) -> int:
    calls = []

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy())
    def run(case):
        response = case.call(headers=headers, cookies=cookies)
        calls.append(response.status_code)
        if response.status_code >= 500 or "Traceback" in response.text:
            failures.append((op.method.upper(), op.path, response.status_code, case.path_parameters,
                             case.query, str(case.body)[:200], response.text[:300]))

    run()
    return len(calls)


def test_every_api_operation_survives_fuzzing(app, world):
    """Roles: administrator (admin_a: every staff and admin route), patient (pat1), stranger (CSRF cookie
    only). Every response < 500."""
    ops = _operations(app)
    assert len(ops) >= 20, [f"{o.method} {o.path}" for o in ops]  # the whole API, not a few routes
    roles = {}
    for name in ("admin_a", "pat1", None):
        c = TestClient(app, follow_redirects=False)
        if name:
            login(c, name)
        else:
            c.get("/login")
        cookies = {k: v for k, v in ((SESSION_COOKIE, c.cookies.get(SESSION_COOKIE)),
                                     (CSRF_COOKIE, c.cookies.get(CSRF_COOKIE))) if v}
        roles[name or "stranger"] = (cookies, {"X-CSRF-Token": c.cookies.get(CSRF_COOKIE),
                                               "Accept": "application/json"})
        c.close()
    failures, calls = [], 0
    for role, (cookies, headers) in roles.items():
        for op in ops:
            calls += _fuzz(op, cookies, headers, failures)
    print(f"fuzzed {len(ops)} operations × {len(roles)} roles: {calls} requests, {len(failures)} server errors")
    assert not failures, failures[:5]
    assert calls >= len(ops) * len(roles)
