"""Drives Sluice's built-in registry with confluent-kafka's own SchemaRegistryClient.

Usage: python confluent_client.py <registry url>. Exits non-zero (an AssertionError with
what differed) when the client does not get what Confluent's registry would answer.
Run by tests/confluent_python_client.rs.
"""

import json
import sys

from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError


def record(*extra_fields):
    fields = [{"name": "id", "type": "long"}, {"name": "name", "type": "string"}]
    fields.extend(extra_fields)
    return {"type": "record", "name": "User", "namespace": "example", "fields": fields}


def expect_error(call, status, code, text=""):
    try:
        call()
    except SchemaRegistryError as e:
        assert e.http_status_code == status, (e.http_status_code, e.error_message)
        assert e.error_code == code, (e.error_code, e.error_message)
        assert text in e.error_message, (text, e.error_message)
        return e
    raise AssertionError(f"expected error {code}, the call succeeded")


def main(url):
    client = SchemaRegistryClient({"url": url})
    v1 = Schema(json.dumps(record()), "AVRO")
    email = {"name": "email", "type": ["null", "string"], "default": None}
    v2 = Schema(json.dumps(record(email)), "AVRO")
    # Against v2 (the latest): adds 'phone' without a default, which BACKWARD refuses.
    breaking = Schema(json.dumps(record(email, {"name": "phone", "type": "string"})), "AVRO")

    # register_schema: ids as Confluent hands them out.
    id1 = client.register_schema("users-value", v1)
    assert id1 == 1, id1
    assert SchemaRegistryClient({"url": url}).register_schema("users-value", v1) == id1
    assert client.register_schema("admins-value", v1) == id1
    id2 = client.register_schema("users-value", v2)
    assert id2 == 2, id2

    # get_schema by id (a fresh client, so nothing comes from a cache).
    fresh = SchemaRegistryClient({"url": url})
    fetched = fresh.get_schema(id1)
    assert fetched.schema_type == "AVRO", fetched.schema_type
    assert json.loads(fetched.schema_str) == record(), fetched.schema_str
    expect_error(lambda: fresh.get_schema(99), 404, 40403)

    # get_latest_version / get_version / get_versions / get_subjects.
    latest = fresh.get_latest_version("users-value")
    assert (latest.schema_id, latest.subject, latest.version) == (id2, "users-value", 2), latest
    assert json.loads(latest.schema.schema_str) == json.loads(v2.schema_str)
    first = fresh.get_version("users-value", 1)
    assert (first.schema_id, first.version) == (id1, 1), first
    assert fresh.get_versions("users-value") == [1, 2]
    assert sorted(fresh.get_subjects()) == ["admins-value", "users-value"]
    expect_error(lambda: fresh.get_latest_version("nobody"), 404, 40401)
    expect_error(lambda: fresh.get_version("users-value", 9), 404, 40402)

    # lookup_schema.
    found = fresh.lookup_schema("users-value", v1)
    assert (found.schema_id, found.subject, found.version) == (id1, "users-value", 1), found
    expect_error(lambda: fresh.lookup_schema("users-value", breaking), 404, 40403)

    # Compatibility: BACKWARD by default, then per subject.
    assert fresh.get_compatibility() == "BACKWARD"
    assert fresh.test_compatibility("users-value", breaking) is False
    assert fresh.test_compatibility("users-value", v1) is True
    error = expect_error(lambda: client.register_schema("users-value", breaking), 409, 409, "field 'phone'")
    assert "without a default value" in error.error_message, error.error_message
    assert client.set_compatibility("users-value", "NONE") == {"compatibility": "NONE"}
    assert fresh.get_compatibility("users-value") == "NONE"
    assert fresh.test_compatibility("users-value", breaking) is True
    assert client.set_compatibility(level="FULL") == {"compatibility": "FULL"}
    assert fresh.get_compatibility() == "FULL"
    expect_error(lambda: client.set_compatibility(level="SIDEWAYS"), 422, 42203)

    # Protobuf with a reference.
    address = Schema('syntax = "proto3";\npackage example;\nmessage Address { string city = 1; }', "PROTOBUF")
    address_id = client.register_schema("address.proto", address)
    user = Schema(
        'syntax = "proto3";\nimport "address.proto";\nmessage Person { example.Address home = 1; }',
        "PROTOBUF",
        [SchemaReference("address.proto", "address.proto", 1)],
    )
    user_id = client.register_schema("people-value", user)
    assert user_id == address_id + 1, (address_id, user_id)
    person = SchemaRegistryClient({"url": url}).get_schema(user_id)
    assert person.schema_type == "PROTOBUF", person.schema_type
    assert [(r.name, r.subject, r.version) for r in person.references] == [("address.proto", "address.proto", 1)]

    # Deletes.
    assert client.delete_version("users-value", 1) == 1
    assert fresh.get_versions("users-value") == [2]
    assert client.delete_subject("admins-value") == [1]
    assert client.delete_subject("admins-value", permanent=True) == [1]
    assert "admins-value" not in fresh.get_subjects()
    print("confluent-kafka SchemaRegistryClient: all checks passed")


if __name__ == "__main__":
    main(sys.argv[1])
