"""The board as a role may see it: callers' numbers in full only for the roles that call
callers back (security.board_numbers_for; supervisors by default), otherwise masked."""

from __future__ import annotations

from typing import Any

from calls.numbers import masked


def _masked_call(item: dict[str, Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {**item, "caller_number": masked(item["caller_number"] or "")}


def board_for(board: dict[str, Any], sees_numbers: bool) -> dict[str, Any]:
    """`board` (calls.floor.Floor.view) unchanged, or a copy with every number masked."""
    if sees_numbers:
        return board
    queues = [{**q, "waiting": [_masked_call(w) for w in q["waiting"]]} for q in board["queues"]]
    agents = [{**a, "call": _masked_call(a["call"])} for a in board["agents"]]
    return {**board, "queues": queues, "agents": agents}
