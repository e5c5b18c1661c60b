"""Independent check of the test CQL server with the DataStax Python driver (Debian package python3-cassandra).

Usage: python3 python_driver_check.py HOST PORT KEYSPACE READ_BUCKET_MS WRITE_BUCKET_MS
Reads the bucket READ_BUCKET_MS (written by the .NET store), writes 250 rows into WRITE_BUCKET_MS with a
prepared INSERT, pages through them with a prepared SELECT (fetch size 40), runs lightweight transactions on the
checkpoints table (reading [applied] and the current row the driver's way), and prints one JSON object.
"""
import datetime
import json
import sys

from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import RoundRobinPolicy
from cassandra.util import uuid_from_time

host, port, keyspace = sys.argv[1], int(sys.argv[2]), sys.argv[3]
read_bucket = datetime.datetime.fromtimestamp(int(sys.argv[4]) / 1000, datetime.timezone.utc).replace(tzinfo=None)
write_bucket = datetime.datetime.fromtimestamp(int(sys.argv[5]) / 1000, datetime.timezone.utc).replace(tzinfo=None)

profile = ExecutionProfile(
    load_balancing_policy=RoundRobinPolicy(),
    consistency_level=ConsistencyLevel.LOCAL_QUORUM,
    request_timeout=20)
cluster = Cluster(
    [host], port=port, execution_profiles={EXEC_PROFILE_DEFAULT: profile},
    schema_metadata_enabled=False, token_metadata_enabled=False, compression=False, connect_timeout=20,
    control_connection_timeout=20)
session = cluster.connect()
result = {"protocol_version": cluster.protocol_version}

# The table exists already (the .NET store created it); IF NOT EXISTS makes this a no-op the server still parses.
session.execute(
    "CREATE TABLE IF NOT EXISTS " + keyspace + ".events (time_bucket timestamp, event_id timeuuid, ts timestamp, "
    "message text, topic text, key text, headers map<text, text>, PRIMARY KEY ((time_bucket), event_id)) "
    "WITH CLUSTERING ORDER BY (event_id ASC)")

select = session.prepare(
    "SELECT event_id, ts, message, topic, key, headers, type, instance, traceparent FROM " + keyspace + ".events WHERE time_bucket = ?")
result["read"] = [
    {"event_id": str(r.event_id), "message": r.message, "topic": r.topic, "key": r.key,
     "headers": dict(r.headers or {}), "ts_ms": int((r.ts - datetime.datetime(1970, 1, 1)).total_seconds() * 1000),
     "type": r.type, "instance": r.instance, "traceparent": r.traceparent}
    for r in session.execute(select, [read_bucket])]

insert = session.prepare(
    "INSERT INTO " + keyspace + ".events (time_bucket, event_id, ts, message, topic, key, headers) VALUES (?, ?, ?, ?, ?, ?, ?)")
written = []
for i in range(250):
    ts = write_bucket + datetime.timedelta(milliseconds=40 * i)
    event_id = uuid_from_time(ts)
    headers = {"n": str(i), "ünï": "値"} if i % 2 == 0 else None
    session.execute(insert, [write_bucket, event_id, ts, "python %d — ✓" % i, "py-topic", None if i % 3 == 0 else "k%d" % i, headers])
    written.append(str(event_id))
result["written"] = written

select.fetch_size = 40
page = session.execute(select, [write_bucket])
pages = 1
paged = [str(r.event_id) for r in page.current_rows]
while page.has_more_pages:
    page.fetch_next_page()
    pages += 1
    paged.extend(str(r.event_id) for r in page.current_rows)
result["paged"] = paged
result["pages"] = pages

# Lightweight transactions on the checkpoints table, as the .NET store runs them.
checkpoints = keyspace + ".events_checkpoints"
lwt = {}
insert_if_absent = session.prepare("INSERT INTO " + checkpoints + " (name, value) VALUES (?, ?) IF NOT EXISTS")
update_if = session.prepare("UPDATE " + checkpoints + " SET value = ? WHERE name = ? IF value = ?")
delete_if = session.prepare("DELETE FROM " + checkpoints + " WHERE name = ? IF value = ?")
lwt["insert"] = session.execute(insert_if_absent, ["py-lease", "one"]).was_applied
refused = session.execute(insert_if_absent, ["py-lease", "two"])
lwt["insert_again"] = refused.was_applied
lwt["insert_again_current"] = refused.one().value
refused = session.execute(update_if, ["three", "py-lease", "wrong"])
lwt["update_wrong"] = refused.was_applied
lwt["update_wrong_current"] = refused.one().value
lwt["update_right"] = session.execute(update_if, ["three", "py-lease", "one"]).was_applied
lwt["delete_right"] = session.execute(delete_if, ["py-lease", "three"]).was_applied
lwt["delete_absent"] = session.execute(delete_if, ["py-lease", "three"]).was_applied
lwt["listed"] = sorted(r.name for r in session.execute("SELECT name, value FROM " + checkpoints))
result["lwt"] = lwt

cluster.shutdown()
print(json.dumps(result))
