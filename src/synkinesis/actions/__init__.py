"""Every change to a clinical record or an account, with its audit row in the same transaction.

Pages, the JSON API, the WebSocket, the worker and the CLI call the functions of this package;
nothing else writes clinical rows or audit rows. An action checks its invariants, makes its change
and adds its audit row (`audit`) to the same database session; the caller's transaction commits
both or neither (`committed`, or the request's session, which commits on success).

Where to add one: a function in the module of its domain (`actions/treatments.py`, …) taking
`(db, actor, …)`, with its kind in `Action`.
"""

from .base import Action, Actor, audit, committed

__all__ = ["Action", "Actor", "audit", "committed"]
