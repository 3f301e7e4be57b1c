"""Prometheus metrics at the server's /metrics, checked against what OneLake (the emulator) logged."""

from __future__ import annotations

import base64
import json

from azure.storage.blob import BlobServiceClient
from prometheus_client.parser import text_string_to_metric_families

from onelake_contents.credential import BrokerCredential
from tests.conftest import WORKSPACE
from tests.manager.conftest import ROOT

NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def scrape(server) -> dict[tuple, float]:
    answer = server.session.get(f"{server.url}/metrics", timeout=30)
    assert answer.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name.startswith("onelake_contents_"):
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def delta(before: dict, after: dict, name: str) -> dict[tuple, float]:
    """The change of every sample of `name`, by labels (samples that did not move are left out)."""
    changes = {}
    for (sample, labels), value in after.items():
        if sample == name and value != before.get((sample, labels), 0):
            changes[labels] = value - before.get((sample, labels), 0)
    return changes


def by_operation_and_status(records) -> dict[tuple, float]:
    counted: dict[tuple, float] = {}
    for r in records:
        key = (("operation", r.operation), ("status", str(r.status)))
        counted[key] = counted.get(key, 0) + 1
    return counted


def test_every_onelake_request_of_a_session_is_counted_as_onelake_saw_it(server, folder, lake):
    def ok(answer, *statuses):
        assert answer.status_code in statuses, answer.text
        return answer

    ok(server.api("PUT", f"{folder}/nb.ipynb", json={"type": "notebook", "content": NOTEBOOK}), 201)
    # changed in OneLake behind the server's back (before counting starts): its next save is a 409
    credential = BrokerCredential(lake.broker_url, client_token=lake.broker_token, ca_file=lake.ca_file)
    blobs = BlobServiceClient(lake.endpoint, credential=credential, connection_verify=lake.ca_file)
    blobs.get_blob_client(WORKSPACE, f"{ROOT}/{folder}/nb.ipynb").upload_blob(json.dumps(NOTEBOOK), overwrite=True)
    before = scrape(server)
    lake.reset_requests()

    ok(server.api("GET", folder), 200)
    changed = {**NOTEBOOK, "metadata": {"v": 2}}
    ok(server.api("PUT", f"{folder}/nb.ipynb", json={"type": "notebook", "content": changed}), 409)
    ok(server.api("PATCH", f"{folder}/nb.ipynb", json={"path": f"{folder}/renamed.ipynb"}), 200)
    piece = base64.b64encode(b"a" * 1000).decode()
    for chunk in (1, -1):
        body = {"type": "file", "format": "base64", "content": piece, "chunk": chunk}
        ok(server.api("PUT", f"{folder}/upload.bin", json=body), 200, 201)
    ok(server.session.post(f"{server.url}/api/contents/{folder}/renamed.ipynb/checkpoints", timeout=30), 201)
    lake.set_faults(script=["503"], operations={"GetBlob"})
    ok(server.api("GET", f"{folder}/renamed.ipynb", params={"content": "1", "type": "notebook"}), 200)
    lake.set_faults(script=["429"], operations={"PutBlob"}, retry_after=0.1)
    ok(server.api("PUT", f"{folder}/renamed.ipynb", json={"type": "notebook", "content": changed}), 200)
    lake.clear_faults()

    after = scrape(server)
    records = lake.requests()
    assert delta(before, after, "onelake_contents_requests_total") == by_operation_and_status(records)
    faulted = {kind: sum(1 for r in records if r.fault == kind) for kind in ("503", "429")}
    assert faulted == {"503": 1, "429": 1}
    assert delta(before, after, "onelake_contents_retries_total") == {(("reason", "5xx"),): 1, (("reason", "429"),): 1}
    assert delta(before, after, "onelake_contents_conflicts_total") == {(): 1}
    actions = delta(before, after, "onelake_contents_actions_total")
    assert actions[(("action", "save"), ("outcome", "conflict"), ("root", ""))] == 1
    assert actions[(("action", "save"), ("outcome", "ok"), ("root", ""))] == 1
    assert actions[(("action", "upload"), ("outcome", "ok"), ("root", ""))] == 2
    assert actions[(("action", "rename"), ("outcome", "ok"), ("root", ""))] == 1
    assert actions[(("action", "checkpoint"), ("outcome", "ok"), ("root", ""))] == 1
    assert delta(before, after, "onelake_contents_upload_bytes_total") == {(): 2000}  # two pieces
    assert after[("onelake_contents_staged_uploads_in_progress", ())] == 0
    durations = delta(before, after, "onelake_contents_request_duration_seconds_count")
    assert sum(durations.values()) == len(records)


def test_a_zero_request_action_is_a_cache_hit(server, folder, lake):
    server.api("PUT", f"{folder}/a.txt", json={"type": "file", "format": "text", "content": "a"})
    server.api("GET", folder)  # listed: its children are known
    # a name the listing lacks is confirmed with OneLake once (one HEAD), then known missing
    assert server.api("GET", f"{folder}/missing.txt", params={"content": "0"}).status_code == 404
    before = scrape(server)
    lake.reset_requests()
    assert server.api("GET", f"{folder}/a.txt", params={"content": "0"}).status_code == 200
    assert server.api("GET", f"{folder}/missing.txt", params={"content": "0"}).status_code == 404
    after = scrape(server)
    assert lake.requests() == []
    assert delta(before, after, "onelake_contents_requests_total") == {}
    lookups = delta(before, after, "onelake_contents_cache_lookups_total")
    assert lookups[(("result", "hit"),)] >= 1 and lookups[(("result", "negative"),)] >= 1
    assert (("result", "miss"),) not in lookups
    actions = delta(before, after, "onelake_contents_actions_total")
    assert actions == {
        (("action", "get"), ("outcome", "ok"), ("root", "")): 1,
        (("action", "get"), ("outcome", "not_found"), ("root", "")): 1,
    }


def test_the_broker_and_the_token_are_visible(server):
    samples = scrape(server)
    assert samples[("onelake_contents_broker_requests_total", (("outcome", "ok"),))] >= 1
    # the broker rounds expires_on up to a whole second: a fresh token's lifetime may read 3600.x
    assert 0 < samples[("onelake_contents_token_expires_in_seconds", ())] <= 3601


def test_a_failed_action_is_one_line_with_onelakes_request_id(server, folder, lake):
    lake.deny(f"{WORKSPACE}/{ROOT}/{folder}/locked")
    try:
        answer = server.api("PUT", f"{folder}/locked/x.txt", json={"type": "file", "format": "text", "content": "x"})
    finally:
        lake.deny()
    assert answer.status_code == 403
    denied = [r for r in lake.requests() if r.status == 403]
    assert denied
    lines = [
        line for line in server.log().splitlines() if "onelake_contents action failed" in line and "locked" in line
    ]
    assert len(lines) == 1, lines
    # the contents API's PUT first asks whether the file exists: that is the action OneLake refused
    assert (
        "action=exists" in lines[0] and "status=403" in lines[0] and "code=AuthorizationPermissionMismatch" in lines[0]
    )
    assert "request_id=" in lines[0] and "request_id=-" not in lines[0]
    assert lake.broker_token not in server.log()


def test_a_failed_action_logs_azures_error_code_as_a_plain_string(server, folder, lake):
    """The SDK hands its error codes over as an enum (`StorageErrorCode.CONDITION_NOT_MET`); the
    log shows the code as Azure sent it."""
    path = f"{folder}/changed.txt"
    assert server.api("PUT", path, json={"type": "file", "format": "text", "content": "mine"}).status_code == 201
    workspace = lake.namespace.workspaces[WORKSPACE]
    lake.namespace.write_file(workspace, f"{ROOT}/{path}", b"changed elsewhere")
    answer = server.api("PUT", path, json={"type": "file", "format": "text", "content": "mine again"})
    assert answer.status_code == 409
    assert [r.error_code for r in lake.requests() if r.path.endswith(path) and r.status == 412] == ["ConditionNotMet"]
    lines = [line for line in server.log().splitlines() if "onelake_contents action failed" in line and path in line]
    assert len(lines) == 1, lines
    assert "action=save" in lines[0] and " code=ConditionNotMet " in lines[0]
