"""The HTTP client on its own: error bodies, and retries against a node that is really locked."""

from __future__ import annotations

import json

import httpx
import pytest

from ironworks.client import APIError, BaremetalClient, ClientError, PatchOp
from ironworks.client.http import error_message
from tests.conftest import LiveServer, wait_for


def ironic_error(status: int, faultstring: str) -> httpx.Response:
    inner = json.dumps({"faultcode": "Client", "faultstring": faultstring, "debuginfo": None})
    return httpx.Response(status, json={"error_message": inner})


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (ironic_error(404, "Node x could not be found."), "Node x could not be found."),
        (
            httpx.Response(
                406,
                json={
                    "error_message": json.dumps(
                        {
                            "code": 406,
                            "title": "Not Acceptable",
                            "description": "Version 9.9 is not supported",
                        }
                    )
                },
            ),
            "Version 9.9 is not supported",
        ),
        (httpx.Response(400, json={"error_message": "plain words"}), "plain words"),
        (httpx.Response(409, json={"title": "Conflict", "detail": "it exists"}), "it exists"),
        (httpx.Response(502, text="<html><body>Bad Gateway</body></html>"), "HTTP 502 Bad Gateway"),
        (httpx.Response(503, text="try later"), "try later"),
    ],
)
def test_error_message_reads_every_body_shape(response: httpx.Response, message: str) -> None:
    assert error_message(response) == message


def test_bad_url_is_a_client_error() -> None:
    with pytest.raises(ClientError, match="not an http"):
        BaremetalClient("127.0.0.1:6385")


def test_state_changes_retry_while_the_node_is_locked(live_server: LiveServer) -> None:
    """A deploy holds the node lock for a moment; an update meanwhile waits it out."""
    with BaremetalClient(live_server.url) as client:
        uuid = client.create_node({"driver": "fake-hardware", "name": "busy"})["uuid"]
        for verb, state in (("manage", "manageable"), ("provide", "available")):
            client.set_provision_state(uuid, verb)
            wait_for(lambda s=state: client.get_node(uuid)["provision_state"] == s)
        client.update_node(
            uuid, [{"op": "add", "path": "/driver_info/fake_deploy_delay", "value": 0.8}]
        )
        client.set_provision_state(uuid, "deploy")
        wait_for(lambda: client.get_node(uuid, ["reservation"])["reservation"], interval=0.01)
        patch: list[PatchOp] = [{"op": "add", "path": "/extra/owner", "value": "ops"}]
        impatient = BaremetalClient(live_server.url, retries=0)
        with impatient, pytest.raises(APIError) as err:
            impatient.update_node(uuid, patch)
        assert err.value.status == 409 and "locked" in err.value.message
        assert client.update_node(uuid, patch)["extra"] == {"owner": "ops"}  # after retries
        assert client.get_node(uuid)["provision_state"] == "active"
