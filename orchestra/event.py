"""What a line of .orchestra/events.jsonl says of a change of a task, and which changes are
events at all. Pure."""

from orchestra.task import EDITABLE, SCHEDULED


def record(before, after, now):
    """The event of `before` (None for a new task) becoming `after`, at `now` (ISO time)."""
    return {
        "time": now, "task": after.id, "agent": after.agent,
        "from": before.status if before is not None else None, "to": after.status,
        "reason": after.reason, "error": after.error, "attempt": after.attempt,
        **({"labels": list(after.labels)} if after.labels else {}),
        **_edit_fields(before, after), **_git_fields(before, after),
    }


def noted(before, after):
    """Whether a change is an event: of status, of reason (a task held pending for its
    config), an `edit`, or one of git_event's."""
    return (before.status != after.status or before.reason != after.reason
            or edited(before, after) or git_event(before, after) is not None)


def edited(before, after):
    """The EDITABLE fields a change of a task that kept its status made, in that order. A
    not_before moved by a config hold (reason config, every few seconds) is no edit."""
    if before is None or before.status != after.status:
        return []
    return [k for k in EDITABLE
            if before.data[k] != after.data[k]
            and not (k == "depends_on" and list(before.data[k]) == list(after.data[k]))
            and not (k == "not_before" and after.reason != SCHEDULED
                     and after.not_before is not None)]


def _edit_fields(before, after):
    changed = edited(before, after)
    return {"event": "edited", "changed": changed} if changed else {}


def git_event(before, after):
    """"merged" or "branch_deleted" (discarded, or deleted once merged) when the change is
    one of those, else None."""
    if after.merged and (before is None or before.merged != after.merged):
        return "merged"
    if before is not None and before.branch and not after.branch:
        return "branch_deleted"
    return None


def _git_fields(before, after):
    """What an event adds for an isolated task: its branch, and for an event that is no
    change of status, what it is (git_event), a merge with `merged_into`."""
    if after.isolation is None:
        return {}
    out = {"branch": after.branch or (before.branch if before is not None else None)}
    event = git_event(before, after)
    if event is not None:
        out["event"] = event
        if event == "merged":
            out["merged_into"] = after.merged_into
    return out
