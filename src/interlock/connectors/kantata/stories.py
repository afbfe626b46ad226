"""Keeping a workspace's stories in line with a project's tasks and milestones."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from interlock.connectors.http import expect
from interlock.connectors.kantata import mapping, wire
from interlock.model import Milestone, Task

if TYPE_CHECKING:
    from interlock.connectors.kantata.client import KantataConnector

Record = dict[str, Any]
Item = Task | Milestone
BULK_STORIES = 300  # Kantata's bulk create limit for stories


class StorySync:
    """One pass over one workspace: link, create and update its stories.

    A story is Interlock's when it carries Interlock's external reference to the item; failing
    that, when its description carries the item's marker (created by an attempt that failed
    before registering the reference), and the reference is registered now. Stories Interlock
    does not know are left alone, and so are stories of items no longer in the project.
    """

    def __init__(self, connector: KantataConnector, workspace: Record) -> None:
        self.connector = connector
        self.workspace_id = str(workspace["id"])
        self.base_unit = int(workspace.get("currency_base_unit") or 100)

    def run(self, items: list[Item]) -> dict[str, str]:
        """Canonical id → story id for every item, after creating and updating what differs."""
        if not items:
            return {}
        stories, side = self.connector.list_all(
            "stories",
            {"workspace_id": self.workspace_id, "include": "external_references"},
            "stories",
        )
        stories.sort(key=lambda s: int(s["id"]) if str(s["id"]).isdigit() else 0)
        linked: dict[str, Record] = {}
        for story in stories:
            for ref in self.connector.references_in(side, story):
                if ref.get("service_model") in (mapping.TASK, mapping.MILESTONE):
                    linked.setdefault(str(ref["service_model_ref"]), story)
        claimed = {str(s["id"]) for s in linked.values()}
        for item in items:
            orphan = (
                None
                if item.id in linked
                else next(
                    (
                        s
                        for s in stories
                        if str(s["id"]) not in claimed and mapping.carries_marker(s, item.id)
                    ),
                    None,
                )
            )
            if orphan is not None:
                self._register(item, orphan)
                linked[item.id] = orphan
                claimed.add(str(orphan["id"]))
        made = self._create([i for i in items if i.id not in linked])
        for item in items:
            if item.id in linked:
                self._update(item, linked[item.id])
        return {i.id: str((linked.get(i.id) or made[i.id])["id"]) for i in items}

    def _create(self, items: list[Item]) -> dict[str, Record]:
        made: dict[str, Record] = {}
        system = self.connector.system
        for start in range(0, len(items), BULK_STORIES):
            chunk = items[start : start + BULK_STORIES]
            body = self.connector.call(
                "POST",
                "stories",
                json={
                    "stories": [
                        mapping.new_story(item, self.workspace_id, self.base_unit) for item in chunk
                    ]
                },
            )
            stories = wire.records(system, body, "stories")
            for item in chunk:
                story = next((s for s in stories if mapping.carries_marker(s, item.id)), None)
                expect(system, story is not None, f"the story created for {item.id} is missing")
                assert story is not None
                made[item.id] = story
                self._register(item, story)
        return made

    def _update(self, item: Item, story: Record) -> None:
        changed = mapping.changes(story, mapping.story_fields(item, self.base_unit))
        if changed:
            self.connector.call("PUT", f"stories/{story['id']}", json={"story": changed})

    def _register(self, item: Item, story: Record) -> None:
        model = mapping.MILESTONE if isinstance(item, Milestone) else mapping.TASK
        self.connector.register("Story", str(story["id"]), model, item.id)
