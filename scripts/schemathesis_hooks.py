"""Schemathesis hooks for Muster (loaded by scripts/schemathesis.sh through SCHEMATHESIS_HOOKS).

POST /v1/sync takes a postcard-encoded SyncRequest, which schemathesis cannot generate from a JSON
schema. This registers a strategy for that media type: well-formed requests (protocol version,
cursor, clock sample, pushes of random record ids with random change bytes, automerge sync
messages) so the server's decoding and per-record checks are exercised, mixed with requests whose
fields are out of range and with plain random bytes. The encoding follows postcard's wire format:
unsigned integers as LEB128 varints, signed ones zigzag-encoded first, strings and byte vectors
as a varint length and the bytes, fixed arrays as their bytes, sequences as a varint count and the
items (crates/sync-core/src/protocol.rs).
"""

import json
import os

from hypothesis import strategies as st

import schemathesis

SYNC_CONTENT_TYPE = "application/vnd.muster.sync+postcard"


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def zigzag(n: int) -> bytes:
    return varint((n << 1) ^ (n >> 63))


def blob(b: bytes) -> bytes:
    return varint(len(b)) + b


def text(s: str) -> bytes:
    return blob(s.encode("utf-8"))


def sequence(items: list) -> bytes:
    return varint(len(items)) + b"".join(items)


record_ids = st.one_of(
    st.uuids(version=4).map(str),
    st.text(max_size=80),
)
u16 = st.one_of(st.just(1), st.integers(0, 2**16 - 1))
u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)
i64 = st.integers(-(2**63), 2**63 - 1)

pushes = st.builds(
    lambda doc_id, heads, changes: text(doc_id) + sequence(heads) + blob(changes),
    record_ids,
    st.lists(st.binary(min_size=32, max_size=32), max_size=3),
    st.binary(max_size=512),
)
doc_sync = st.builds(
    lambda doc_id, message: text(doc_id) + blob(message),
    record_ids,
    st.binary(max_size=256),
)
sync_requests = st.builds(
    lambda version, cursor, check, wall, mono, boot, rtt, ps, ds: (
        varint(version)
        + varint(cursor)
        + varint(check)
        + zigzag(wall)
        + zigzag(mono)
        + text(boot)
        + varint(rtt)
        + sequence(ps)
        + sequence(ds)
    ),
    u16,
    st.one_of(st.just(0), u64),
    st.one_of(st.just(0), u64),
    i64,
    i64,
    st.text(max_size=40),
    u32,
    st.lists(pushes, max_size=4),
    st.lists(doc_sync, max_size=2),
)

schemathesis.openapi.media_type(
    SYNC_CONTENT_TYPE,
    st.one_of(sync_requests, st.binary(max_size=1024)),
)


# Ids that exist in the demo company, from the script (MUSTER_KNOWN_IDS, JSON), so operations on
# one record, site or device reach their logic instead of stopping at 404.
KNOWN_IDS = json.loads(os.environ.get("MUSTER_KNOWN_IDS", "{}"))
ID_KINDS = {
    "/v1/records/": "records",
    "/v1/admin/sites/": "sites",
    "/v1/admin/devices/": "devices",
}


@schemathesis.hook
def flatmap_path_parameters(ctx, path_parameters):
    if not path_parameters or "id" not in path_parameters or ctx.operation is None:
        return st.just(path_parameters)
    kind = next((k for prefix, k in ID_KINDS.items() if ctx.operation.path.startswith(prefix)), None)
    known = KNOWN_IDS.get(kind, [])
    if not known:
        return st.just(path_parameters)
    return st.one_of(
        st.just(path_parameters),
        st.sampled_from(known).map(lambda id_: {**path_parameters, "id": id_}),
    )
