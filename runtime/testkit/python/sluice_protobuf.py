"""What a Python consumer of Confluent-framed Protobuf needs, shared by Sluice's tests.

A real consumer has a message class that protoc generated from the schema text; these
tests make it at run time the same way: the registry's `.proto` text
(GET /schemas/ids/{id}) compiled with grpcio-tools' protoc, its imports resolved from the
descriptors that the protobuf, googleapis-common-protos and confluent-kafka packages ship.
The class is then handed to confluent-kafka's ProtobufDeserializer, which fetches the
writer schema by id itself (`format=serialized`) and picks the message by the message
indexes in the framing.

Used by converters/tests/protobuf_python.py and runtime/worker/tests/python/
protobuf_consume.py; the Rust tests put this directory on PYTHONPATH
(`sluice_testkit::python_helpers_path()`).
"""

import base64
import json
import os
import sys
import urllib.request

try:
    from google.protobuf import (
        descriptor_pb2,
        descriptor_pool,
        json_format,
        timestamp_pb2,
        wrappers_pb2,
    )
    from google.protobuf.message_factory import GetMessageClass
    from google.type import date_pb2, timeofday_pb2
    from grpc_tools import protoc

    from confluent_kafka.schema_registry.common.protobuf import protobuf_to_decimal
    from confluent_kafka.schema_registry.confluent import meta_pb2
    from confluent_kafka.schema_registry.confluent.type import decimal_pb2
except ImportError as e:
    sys.exit(
        f"a Python package is missing ({e}): install the pinned test requirements with "
        '`eval "$(bash scripts/test-env.sh)"` (confluent-kafka, protobuf, '
        "googleapis-common-protos, grpcio-tools)"
    )

# The files a Confluent schema imports without registering them as references.
KNOWN = [
    descriptor_pb2,
    timestamp_pb2,
    wrappers_pb2,
    date_pb2,
    timeofday_pb2,
    meta_pb2,
    decimal_pb2,
]


def known_set():
    out = descriptor_pb2.FileDescriptorSet()
    for module in KNOWN:
        out.file.add().ParseFromString(module.DESCRIPTOR.serialized_pb)
    return out


def get_json(url):
    with urllib.request.urlopen(url) as response:
        return json.load(response)


def schema_id(data):
    """The id in Confluent's framing (magic byte 0, 4-byte big-endian id), or None."""
    if data is None or len(data) < 5 or data[0] != 0:
        return None
    return int.from_bytes(data[1:5], "big")


def root_message(fd):
    message = fd.message_type[0]
    return f"{fd.package}.{message.name}" if fd.package else message.name


def normalized(message_proto):
    """A message descriptor without protoc's json_name, which the registry does not set."""
    copy = descriptor_pb2.DescriptorProto()
    copy.CopyFrom(message_proto)

    def strip(m):
        for field in m.field:
            field.ClearField("json_name")
        for nested in m.nested_type:
            strip(nested)

    strip(copy)
    return copy


def to_dict(message):
    """Protobuf's JSON form of a message, with the .proto field names."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def decimals(message, path=""):
    """{"path.to.field": str(Decimal)} for every confluent.type.Decimal in `message`, read
    with confluent-kafka's own protobuf_to_decimal."""
    found = {}
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        here = f"{path}{field.name}"
        items = value if field.is_repeated else [value]
        for i, item in enumerate(items):
            at = f"{here}[{i}]" if field.is_repeated else here
            if field.message_type.full_name == "confluent.type.Decimal":
                found[at] = str(protobuf_to_decimal(item))
            else:
                found.update(decimals(item, at + "."))
    return found


class MessageClasses:
    """The message class of each schema id in a registry, compiled once with protoc.

    `workdir` is an existing scratch directory for protoc's files."""

    def __init__(self, url, workdir):
        self.url = url.rstrip("/")
        self.workdir = workdir
        self.classes = {}
        with open(os.path.join(workdir, "known.pb"), "wb") as f:
            f.write(known_set().SerializeToString())

    def schema_text(self, schema_id):
        return get_json(f"{self.url}/schemas/ids/{schema_id}")["schema"]

    def compile_with_protoc(self, text, schema_id):
        """The FileDescriptorProto protoc makes of the registry's schema text."""
        name = f"schema_{schema_id}.proto"
        with open(os.path.join(self.workdir, name), "w", encoding="utf-8") as f:
            f.write(text)
        deps = os.path.join(self.workdir, "known.pb")
        out = os.path.join(self.workdir, f"schema_{schema_id}.pb")
        rc = protoc.main(
            [
                "protoc",
                f"--descriptor_set_in={deps}",
                f"--descriptor_set_out={out}",
                f"--proto_path={self.workdir}",
                name,
            ]
        )
        if rc != 0:
            sys.exit(f"protoc rejected the schema text of id {schema_id} (exit {rc}):\n{text}")
        fds = descriptor_pb2.FileDescriptorSet()
        with open(out, "rb") as f:
            fds.ParseFromString(f.read())
        (fd,) = [f for f in fds.file if f.name == name]
        return fd

    def for_id(self, schema_id):
        """(message class of the schema's first message, whether the registry's
        `format=serialized` descriptor of that message equals the one protoc compiled)."""
        if schema_id not in self.classes:
            fd = self.compile_with_protoc(self.schema_text(schema_id), schema_id)
            # A pool per schema: two schemas may both declare the same message name.
            pool = descriptor_pool.DescriptorPool()
            for module in KNOWN:
                pool.AddSerializedFile(module.DESCRIPTOR.serialized_pb)
            pool.Add(fd)
            serialized = get_json(f"{self.url}/schemas/ids/{schema_id}?format=serialized")
            registry_fd = descriptor_pb2.FileDescriptorProto()
            registry_fd.ParseFromString(base64.b64decode(serialized["schema"]))
            matches = normalized(registry_fd.message_type[0]) == normalized(fd.message_type[0])
            message_class = GetMessageClass(pool.FindMessageTypeByName(root_message(fd)))
            self.classes[schema_id] = (message_class, matches)
        return self.classes[schema_id]

    def for_bytes(self, data):
        """`for_id` of the schema id framed in `data`; exits if `data` is not framed."""
        found = schema_id(data)
        if found is None:
            sys.exit(f"record does not start with the magic byte 0 and an id: {data!r}")
        return self.for_id(found)
