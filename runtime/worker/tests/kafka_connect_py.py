"""Drives a Sluice worker's REST API with kafka-connect-py (a Kafka Connect REST client
from PyPI), unchanged: create, list, status, config update, pause, resume, stop,
restarts, tasks, topics, plugins, validate, delete.

Usage: kafka_connect_py.py <worker URL> <input file> <topic> [distributed]
With "distributed", the URL is one worker of a cluster: a create answers before the
tasks exist (as in Kafka Connect's distributed mode), other workers see a change a
moment later, and a write during a rebalance answers 409, which a client retries.
Prints "all checks passed" at the end; any failed check raises.
"""

import json
import sys
import time

from kafka_connect import KafkaConnect
from requests.exceptions import HTTPError

url, input_file, topic = sys.argv[1], sys.argv[2], sys.argv[3]
distributed = sys.argv[4:] == ["distributed"]
client = KafkaConnect(url=url)
NAME = "py-source"


def wait_for(what, check, timeout=60.0):
    """Polls `check` until it returns a true value, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached in {timeout} s (last: {last!r})")


def status_of(error):
    """The HTTP status of a client error: from its response, or from the Kafka Connect
    error body the client puts in the message for some calls."""
    if error.response is not None:
        return error.response.status_code
    try:
        return json.loads(str(error))["error_code"]
    except (ValueError, KeyError, TypeError):
        return None


def retried(call, *args, **kwargs):
    """Calls the client, retrying Kafka Connect's 409 for a rebalance (distributed mode)."""
    deadline = time.monotonic() + 60.0
    while True:
        try:
            return call(*args, **kwargs)
        except HTTPError as e:
            if status_of(e) != 409 or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def states():
    status = client.get_connector_status(NAME)
    return status["connector"]["state"], [t["state"] for t in status["tasks"]]


def wait_state(connector, tasks):
    wait_for(f"{NAME} {connector} {tasks}", lambda: states() == (connector, tasks))


info = client.get_cluster_info()
assert set(info) >= {"version", "commit", "kafka_cluster_id"}, info

config = {
    "connector.class": "FileStreamSource",
    "tasks.max": "1",
    "file": input_file,
    "topic": topic,
    "value.converter": "org.apache.kafka.connect.storage.StringConverter",
}
created = retried(client.create_connector, {"name": NAME, "config": config})
assert created["name"] == NAME, created
assert created["config"] == {**config, "name": NAME}, created
assert created["tasks"] == ([] if distributed else [{"connector": NAME, "task": 0}]), created
assert created["type"] == "source", created

wait_for("the connector listed", lambda: client.list_connectors() == [NAME])
expanded = client.list_connectors(expand="status")
assert expanded[NAME]["status"]["connector"]["state"] in ("RUNNING", "UNASSIGNED"), expanded
wait_state("RUNNING", ["RUNNING"])
assert client.list_connectors(expand="status", state="RUNNING") == {
    NAME: client.list_connectors(expand="status")[NAME]
}
assert client.get_connector(NAME)["config"]["file"] == input_file
assert client.get_connector_config(NAME) == {**config, "name": NAME}
task = client.get_connector_task_status(NAME, 0)
assert task["id"] == 0 and task["state"] == "RUNNING", task
tasks = client.list_connector_tasks(NAME)
assert tasks[0]["id"] == {"connector": NAME, "task": 0}, tasks
wait_for("the topic in /topics", lambda: client.list_connector_topics(NAME) == {NAME: {"topics": [topic]}})

# Config update: PUT with the bare config answers the new ConnectorInfo.
updated = retried(client.update_connector, NAME, {**config, "batch.size": "100"})
assert updated["config"]["batch.size"] == "100", updated
wait_for("the update seen", lambda: client.get_connector_config(NAME).get("batch.size") == "100")
wait_state("RUNNING", ["RUNNING"])

# Pause, resume, stop.
assert retried(client.pause_connector, NAME) is None
wait_state("PAUSED", ["PAUSED"])
assert retried(client.resume_connector, NAME) is None
wait_state("RUNNING", ["RUNNING"])
assert retried(client.stop_connector, NAME) is None
wait_state("STOPPED", [])
wait_for("no tasks", lambda: client.get_connector(NAME)["tasks"] == [])
assert retried(client.resume_connector, NAME) is None
wait_state("RUNNING", ["RUNNING"])

# Restarts: plain (204, None), with tasks (202 with the restart plan), one task.
assert retried(client.restart_connector, NAME) is None
plan = retried(client.restart_connector, NAME, include_tasks=True)
assert plan["connector"]["state"] == "RESTARTING", plan
assert [t["state"] for t in plan["tasks"]] == ["RESTARTING"], plan
wait_state("RUNNING", ["RUNNING"])
plan = retried(client.restart_connector, NAME, include_tasks=True, only_failed=True)
assert plan["connector"]["state"] == "RUNNING", plan
assert retried(client.restart_connector_task, NAME, 0) is None
wait_state("RUNNING", ["RUNNING"])

assert retried(client.reset_connector_topics, NAME) is None
assert client.list_connector_topics(NAME) in (
    {NAME: {"topics": []}},
    {NAME: {"topics": [topic]}},  # the tailing task may have produced again since
)

# Plugins and validation.
plugins = client.list_connector_plugins()
classes = {p["class"] for p in plugins}
assert "org.apache.kafka.connect.file.FileStreamSourceConnector" in classes, plugins
checked = client.validate_connector_config(
    "FileStreamSource", {**config, "name": NAME, "batch.size": "0"}
)
assert checked["error_count"] == 1, checked
assert checked["name"] == "FileStreamSourceConnector", checked

# Delete, then the client sees Kafka Connect's 404.
assert retried(client.delete_connector, NAME) is None
wait_for("the connector gone", lambda: client.list_connectors() == [])
try:
    client.get_connector(NAME)
    raise AssertionError("a deleted connector was found")
except HTTPError as e:
    assert e.response.status_code == 404, e
    assert e.response.json() == {"error_code": 404, "message": f"Connector {NAME} not found"}

print("all checks passed")
