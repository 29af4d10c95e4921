#!/usr/bin/env python3
"""Writes the committed seed inputs (fuzz/seeds/<target>/). Run from anywhere; rewrites the files.

webhook:        the raw body of a delivery (the harness sends it, authenticated, to the fixture
                workspace of plugin/tests/fuzz_support/fixture.rs); split at 0xFF, the bodies of
                a batch.
ado_responses:  one byte choosing what is asked of ADO, then answers separated by 0xFF, each
                [status selector, header flags, body...] (see fuzz_support::script).
mapping:        bytes for `arbitrary` (no readable format); a few fixed pseudo-random inputs.
"""
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = "0f1e2d3c-aaaa-bbbb-cccc-000000000001"
PARENT = "System.LinkTypes.Hierarchy-Reverse"


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, (dict, list)):
        data = json.dumps(data, indent=1).encode()
    elif isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def event(kind, resource, project=PROJECT):
    return {
        "subscriptionId": "sub-1",
        "eventType": kind,
        "publisherId": "tfs",
        "resource": resource,
        "resourceVersion": "1.0",
        "resourceContainers": {"project": {"id": project}},
    }


def fields(ty, title, state="Active", **extra):
    f = {
        "System.WorkItemType": ty,
        "System.Title": title,
        "System.State": state,
        "System.TeamProject": "Fuzz",
        "System.IterationPath": "Fuzz\\Sprint 1",
        "System.ChangedDate": "2026-02-10T11:12:13.5Z",
    }
    f.update(extra)
    return f


url = lambda i: f"https://dev.azure.com/fuzz/_apis/wit/workItems/{i}"

# --- webhook ---------------------------------------------------------------------------------
write("webhook", "created-new-child", event("workitem.created", {
    "id": 40, "rev": 1,
    "fields": fields("Task", "A new task", "New", **{"System.Tags": "q3; ado-sync-00aa11bb22cc"}),
    "relations": [{"rel": PARENT, "url": url(2), "attributes": {"isLocked": False}}],
}))
write("webhook", "updated-linked", event("workitem.updated", {
    "id": 17, "workItemId": 2, "rev": 6,
    "fields": {"System.Title": {"oldValue": "item h-2", "newValue": "renamed in ADO"}},
    "revision": {"id": 2, "rev": 6, "fields": fields(
        "User Story", "renamed in ADO", "Closed",
        **{"Microsoft.VSTS.Scheduling.StoryPoints": 8, "System.AssignedTo":
           {"displayName": "Lee", "uniqueName": "lee@example.com"}, "Custom.Due": "2026-04-01"})},
}))
write("webhook", "updated-stale", event("workitem.updated", {
    "id": 3, "workItemId": 2, "rev": 2,
    "revision": {"id": 2, "rev": 2, "fields": fields("User Story", "old")},
}))
write("webhook", "updated-links-changed", event("workitem.updated", {
    "id": 18, "workItemId": 2, "rev": 7,
    "relations": {"removed": [{"rel": PARENT, "url": url(1)}]},
    "revision": {"id": 2, "rev": 7, "fields": fields("User Story", "moved")},
}))
write("webhook", "deleted-linked", event("workitem.deleted", {
    "id": 1, "rev": 8, "fields": fields("Epic", "item h-1", "Removed")}))
write("webhook", "restored", event("workitem.restored", {
    "id": 3, "rev": 9, "fields": fields("User Story", "back again"), "relations": []}))
write("webhook", "created-no-fields", event("workitem.created", {"id": 2, "rev": 10}))
write("webhook", "commented", event("workitem.commented", {"id": 2, "rev": 11}))
write("webhook", "other-project", event("workitem.created", {"id": 5}, "ffffffff-0000-0000-0000-000000000000"))
write("webhook", "unmapped-type", event("workitem.created", {
    "id": 41, "rev": 1, "fields": fields("Bug", "a bug"), "relations": []}))
write("webhook", "bad-work-item-id", event("workitem.updated", {"id": 1, "workItemId": -4}))
write("webhook", "not-json", b"<html><body>sign in</body></html>")
# Several deliveries in one input: the batch property splits the bytes at 0xFF.
read = lambda target, name: open(os.path.join(HERE, target, name), "rb").read()
write("webhook", "batch-of-three", b"\xff".join(
    read("webhook", n) for n in ["updated-linked", "deleted-linked", "created-no-fields"]))
write("webhook", "truncated", b'{"eventType":"workitem.created","resource":{"id":')

# --- ado_responses -----------------------------------------------------------------------------
OPS = ["connection_data", "projects", "project", "discover", "wiql", "wiql_top", "work_item",
       "create", "batches", "sync_a2h", "sync_h2a", "heal", "provision", "map_and_webhook_read"]
OK, JSON = 0, 1  # status selector 0 = 200; header flag 1 = JSON content type


def answers(op, *bodies):
    out = bytes([OPS.index(op)])
    parts = []
    for b in bodies:
        if isinstance(b, tuple):
            status, flags, body = b
        else:
            status, flags, body = OK, JSON, b
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        parts.append(bytes([status, flags]) + body)
    return out + b"\xff".join(parts)


wi = lambda i, ty="User Story", **kw: {
    "id": i, "rev": 3, "fields": fields(ty, f"item {i}", **kw),
    "relations": [{"rel": PARENT, "url": url(1)}] if i != 1 else []}
write("ado_responses", "connection-data", answers("connection_data", {
    "authenticatedUser": {"providerDisplayName": "Dana",
                          "properties": {"Account": {"$type": "System.String", "$value": "dana@example.com"}}}}))
write("ado_responses", "project", answers("project", {
    "id": PROJECT, "name": "Fuzz", "capabilities": {"processTemplate": {"templateName": "Agile"}}}))
write("ado_responses", "discover", answers(
    "discover",
    {"count": 2, "value": [
        {"name": "User Story", "referenceName": "Microsoft.VSTS.WorkItemTypes.UserStory",
         "states": [{"name": "New", "category": "Proposed"}, {"name": "Closed", "category": "Completed"}],
         "fieldInstances": [{"referenceName": "System.Title"}]},
        {"name": "Old", "isDisabled": True}]},
    {"count": 1, "value": [{"referenceName": "Custom.Kind", "allowedValues": ["a", "b"]}]},
    {"count": 2, "value": [
        {"referenceName": "System.Title", "name": "Title", "type": "string", "readOnly": False},
        {"referenceName": "Custom.Kind", "name": "Kind", "type": "string", "isPicklist": True}]},
    {"id": 1, "name": "Fuzz", "path": "\\Fuzz\\Iteration", "children": [
        {"id": 2, "name": "Sprint 1", "path": "\\Fuzz\\Iteration\\Sprint 1",
         "attributes": {"startDate": "2026-01-05T00:00:00Z", "finishDate": "2026-01-16T00:00:00Z"}}]},
    {"id": 3, "name": "Fuzz", "path": "\\Fuzz\\Area", "children": [{"name": "Web", "path": "\\Fuzz\\Area\\Web"}]},
    {"count": 1, "value": [{"id": "t1", "name": "q3"}]}))
write("ado_responses", "discover-states-separately", answers(
    "discover", {"value": [{"name": "Task"}]}, {"value": [{"name": "To Do", "category": "Proposed"}]}))
write("ado_responses", "wiql", answers("wiql", {
    "queryType": "flat", "asOf": "2026-01-01T00:00:00Z",
    "workItems": [{"id": 1, "url": url(1)}, {"id": 2, "url": url(2)}, {"id": "x"}]}))
write("ado_responses", "wiql-top", answers("wiql_top", {"workItems": [{"id": 99}]}))
write("ado_responses", "work-item", answers("work_item", wi(7)))
write("ado_responses", "work-item-throttled", answers(
    "work_item", (14, JSON | 2 | (1 << 4), {"message": "TF400733: throttled"}), wi(7)))
write("ado_responses", "work-item-sign-in", answers("work_item", (5, 0, b"<html>Sign in</html>")))
write("ado_responses", "work-item-server-errors", answers(
    "work_item", (15, JSON, {"message": "busy"}), (15, JSON | 8, b""), wi(7)))
write("ado_responses", "create", answers("create", wi(50)))
write("ado_responses", "create-conflict", answers("create", (13, JSON, {
    "$id": "1", "message": "TF26071: stale", "typeKey": "WorkItemRevisionMismatchException", "errorCode": 0})))
write("ado_responses", "batches", answers(
    "batches", {"count": 2, "value": [wi(1, "Epic"), None]}, {"value": [wi(3)]}, (11, JSON, {"message": "gone"})))
write("ado_responses", "sync-ado-to-host", answers(
    "sync_a2h",
    {"workItems": [{"id": 1}]}, {"workItems": [{"id": 2}, {"id": 4}]},
    {"workItems": []}, {"workItems": []},
    {"count": 1, "value": [wi(1, "Epic")]},
    {"count": 2, "value": [wi(2), wi(4, state="Closed")]}))
write("ado_responses", "sync-wiql-cap", answers(
    "sync_a2h",
    (8, JSON, {"message": "VS402337: The number of work items returned exceeds the size limit of 20000."}),
    {"workItems": [{"id": 40000}]},
    {"workItems": [{"id": 5}]}))
write("ado_responses", "sync-host-to-ado", answers(
    "sync_h2a", {"workItems": []}, wi(1, "Epic"), wi(2), wi(3), wi(60)))
write("ado_responses", "heal", answers(
    "heal",
    {"count": 1, "value": [{"id": "s1", "eventType": "workitem.updated", "status": "disabledBySystem",
                            "publisherInputs": {"projectId": PROJECT},
                            "consumerInputs": {"url": "https://hooks.example.com/webhooks/ws-fuzz/ado"}}]},
    {"id": "s1", "status": "enabled"},
    {"workItems": [{"id": 2}]},
    {"value": [wi(2)]}))
write("ado_responses", "provision-denied", answers("provision", (10, JSON, {"message": "no permission"})))
write("ado_responses", "map-and-read", answers("map_and_webhook_read", wi(2)))

# --- mapping ------------------------------------------------------------------------------------
rng = random.Random(8)
for i, size in enumerate([64, 200, 400, 800, 1500, 3000]):
    write("mapping", f"random-{i}", bytes(rng.randrange(256) for _ in range(size)))
