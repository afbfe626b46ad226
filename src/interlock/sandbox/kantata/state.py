"""In-memory Kantata account: records, tokens, throttling budget, approvals and the event log.

Thread-safe: the app serves from a uvicorn thread while tests and the demo read and change the
state from theirs. Every method returns copies, never the stored dicts.
"""

from __future__ import annotations

import copy
import datetime as dt
import time
from collections.abc import Callable, Iterable

from interlock.sandbox.kantata import approvals
from interlock.sandbox.kantata.envelope import not_found
from interlock.sandbox.kantata.events import stamp
from interlock.sandbox.kantata.records import Record
from interlock.sandbox.kantata.store import Pending, RecordStore, WriteListener
from interlock.sandbox.kantata.tables import TABLES

DEMO_TOKEN = "kantata-sandbox-token"  # noqa: S105 - a public demo token, not a secret
__all__ = ["DEMO_TOKEN", "TABLES", "KantataState", "WriteListener"]
_SUBMISSIONS = {"time_entries": "timesheet_submissions", "expenses": "expense_report_submissions"}


class KantataState(RecordStore):
    """One Kantata account.

    Args:
        tokens: Bearer tokens the API accepts.
        seed: Seed of the generator behind ``chaos_events``.
        chaos_events: Deliver subscribed events duplicated and out of order.
        rate_limit: Requests allowed per token per window; None turns throttling off.
        rate_window_seconds: Length of the throttling window.
        clock: Current time (aware datetime); tests pass a fake one to move time.
    """

    def __init__(
        self,
        *,
        tokens: Iterable[str] = (DEMO_TOKEN,),
        seed: int = 0,
        chaos_events: bool = False,
        rate_limit: int | None = None,
        rate_window_seconds: float = 60.0,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        super().__init__(seed=seed, clock=clock)
        self._tokens = set(tokens)
        self.chaos_events = chaos_events
        self.rate_limit = rate_limit
        self.rate_window_seconds = rate_window_seconds
        self._usage: dict[str, tuple[float, int]] = {}

    # -- tokens and throttling ------------------------------------------------------------

    def add_token(self, token: str) -> None:
        with self._lock:
            self._tokens.add(token)

    def revoke_token(self, token: str) -> None:
        with self._lock:
            self._tokens.discard(token)

    def authorized(self, token: str) -> bool:
        with self._lock:
            return token in self._tokens

    def spend(self, token: str) -> bool:
        """Count one request against ``token``'s budget; False when the budget is used up."""
        with self._lock:
            if self.rate_limit is None:
                return True
            now = time.monotonic()
            start, used = self._usage.get(token, (now, 0))
            if now - start >= self.rate_window_seconds:
                start, used = now, 0
            self._usage[token] = (start, used + 1)
            return used < self.rate_limit

    # -- users ------------------------------------------------------------------------------

    def add_user(self, full_name: str, email_address: str, headline: str | None) -> Record:
        with self._lock:
            user_id = self._new_id("users")
            user: Record = {
                "id": user_id,
                "full_name": full_name,
                "email_address": email_address,
                "headline": headline,
                "disabled": False,
            }
            self._tables["users"][user_id] = user
            return copy.deepcopy(user)

    # -- approvals --------------------------------------------------------------------------

    def submit(
        self, table: str, body: Record, *, user_id: str | None = None
    ) -> tuple[Record, list[Record]]:
        """Create a submission (``timesheet_submissions`` or ``expense_report_submissions``).

        Its line items get ``active_submission_id`` (one ``updated`` event each). Returns the
        submission and its items as they are now.
        """
        pending: Pending = []
        with self._lock:
            now = self.clock()
            submission, items = approvals.new_submission(
                table, body, record_id=self._new_id(table), now=stamp(now), find=self._find
            )
            self._tables[table][submission["id"]] = submission
            self._apply(table, submission, items, now, user_id, pending)
            result = copy.deepcopy(submission)
        return result, self._done(pending)

    def resolve(
        self,
        table: str,
        submission_id: str,
        verb: str,
        *,
        description: str | None = None,
        user_id: str | None = None,
    ) -> tuple[Record, list[Record]]:
        """Approve, reject or cancel a pending submission (``verb``); its items follow."""
        pending: Pending = []
        with self._lock:
            before = self._table(table).get(submission_id)
            if before is None:
                raise not_found(table, submission_id)
            now = self.clock()
            submission = approvals.resolve(before, verb, description, stamp(now))
            self._tables[table][submission_id] = submission
            items_table = approvals.ITEMS[table]
            items = [
                self._tables[items_table][i]
                for i in submission["line_item_ids"]
                if i in self._tables[items_table]
            ]
            self._apply(table, submission, items, now, user_id, pending)
            result = copy.deepcopy(submission)
        return result, self._done(pending)

    def _apply(
        self,
        table: str,
        submission: Record,
        items: list[Record],
        now: dt.datetime,
        user_id: str | None,
        pending: Pending,
    ) -> None:
        for item in items:
            after = approvals.item_after(item, submission, stamp(now))
            self._replace(approvals.ITEMS[table], item, after, now, user_id, pending)

    # -- in-process helpers for tests and the demo ------------------------------------------

    def log_time(
        self,
        workspace_id: str,
        story_id: str | None,
        user_id: str,
        date: dt.date | str,
        minutes: int,
        approved: bool = False,
        **fields: object,
    ) -> Record:
        """Log time as the user would in Kantata (``fields``: billable, notes, rate_in_cents).

        With ``approved``, the entry is then submitted and approved, as a manager would.
        """
        entry = self.create(
            "time_entries",
            {
                "workspace_id": workspace_id,
                "story_id": story_id,
                "user_id": user_id,
                "date_performed": str(date),
                "time_in_minutes": minutes,
                **fields,
            },
        )
        return self.approve_time(entry["id"]) if approved else entry

    def submit_time(self, entry_ids: list[str]) -> Record:
        """Submit time entries of one project and user for approval; the submission."""
        return self._submit_items("time_entries", entry_ids)

    def approve_time(self, entry_id: str) -> Record:
        """Approve a time entry; one time_entry:updated. The entry, approved.

        An entry in a pending submission is approved with the rest of that submission; one
        in none is submitted and approved in one step.
        """
        return self._approve("time_entries", entry_id)

    def reject_time(self, entry_id: str) -> Record:
        """Reject the pending submission holding a time entry; the entry."""
        return self._resolve_item("time_entries", entry_id, "reject")

    def log_expense(
        self,
        workspace_id: str,
        user_id: str,
        date: dt.date | str,
        category: str,
        amount_in_cents: int,
        approved: bool = False,
        **fields: object,
    ) -> Record:
        """Record an expense (``fields``: currency, billable, notes); ``approved`` as above."""
        expense = self.create(
            "expenses",
            {
                "workspace_id": workspace_id,
                "user_id": user_id,
                "date": str(date),
                "category": category,
                "amount_in_cents": amount_in_cents,
                **fields,
            },
        )
        return self.approve_expense(expense["id"]) if approved else expense

    def submit_expenses(self, expense_ids: list[str]) -> Record:
        """Put expenses of one project and user in an expense report; the submission."""
        return self._submit_items("expenses", expense_ids)

    def approve_expense(self, expense_id: str) -> Record:
        """Approve an expense (submitting it first if needed); one expense:updated."""
        return self._approve("expenses", expense_id)

    def reject_expense(self, expense_id: str) -> Record:
        """Reject the pending expense report holding an expense; the expense."""
        return self._resolve_item("expenses", expense_id, "reject")

    def _submit_items(self, items: str, ids: list[str]) -> Record:
        first = self.get(items, ids[0]) if ids else None
        body: Record = {
            "line_item_ids": ids,
            "workspace_id": first["workspace_id"] if first else None,
            "title": "Submitted in the sandbox",
        }
        return self.submit(_SUBMISSIONS[items], body)[0]

    def _approve(self, items: str, item_id: str) -> Record:
        table = _SUBMISSIONS[items]
        with self._lock:
            item = self._table(items).get(item_id)
            if item is None:
                raise not_found(items, item_id)
            if item["approved"]:
                return copy.deepcopy(item)
            submission = self._find(table, str(item["active_submission_id"] or ""))
            if submission is None or submission["status"] != "pending":
                # Submitted and approved in one step: the item changes once, as one event.
                submission = self._submit_quietly(table, item)
            submission_id = submission["id"]
        _, changed = self.resolve(table, submission_id, "approve")
        return next(i for i in changed if i["id"] == item_id)

    def _submit_quietly(self, table: str, item: Record) -> Record:
        now = stamp(self.clock())
        body = {"line_item_ids": [item["id"]], "workspace_id": item["workspace_id"], "title": "-"}
        submission, _ = approvals.new_submission(
            table, body, record_id=self._new_id(table), now=now, find=self._find
        )
        self._tables[table][submission["id"]] = submission
        return submission

    def _resolve_item(self, items: str, item_id: str, verb: str) -> Record:
        item = self.get(items, item_id)
        if item is None:
            raise not_found(items, item_id)
        submission_id = str(item["active_submission_id"] or "")
        _, changed = self.resolve(_SUBMISSIONS[items], submission_id, verb)
        return next(i for i in changed if i["id"] == item_id)
