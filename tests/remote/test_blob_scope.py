"""Blob scoping against a real server process: an upload is readable by its uploader at once."""

from __future__ import annotations

from mainsail.server._process import ServerProcess
from mainsail.store._rest_store import RestArtifactStore, RestClient


def test_scoped_uploader_reads_back_at_once(
    live_server: tuple[ServerProcess, str], unique: str
) -> None:
    srv, admin_token = live_server
    admin = RestClient(srv.url, token=admin_token)
    created = admin.json(
        "POST",
        "/users",
        json={"name": f"dev-{unique}", "role": "developer", "project": f"p-{unique}"},
    )
    other = admin.json(
        "POST", "/users", json={"name": f"other-{unique}", "role": "viewer", "project": "q"}
    )
    mine = RestArtifactStore(RestClient(srv.url, token=created["token"]["token"]))
    theirs = RestArtifactStore(RestClient(srv.url, token=other["token"]["token"]))
    # The ownership proof is the upload's audit event: each read straight after its upload
    # succeeds, over keep-alive, many times in a row. (The event is written before the
    # response; this loop did not catch the after-response race in a trial run, so it
    # guards the ownership rule itself, not that ordering.)
    for i in range(40):
        data = f"{unique} blob {i}".encode()
        digest = mine.put_bytes(data)
        assert mine.get_bytes(digest) == data
    status = theirs.client.http.get(f"/api/v1/artifacts/{digest}").status_code
    assert status == 403
    for c in (admin, mine.client, theirs.client):
        c.close()
