"""Independent check of the test CQL server as a cluster, with the DataStax Python driver (python3-cassandra, python3-lz4).

Usage: python3 python_driver_cluster_check.py HOST PORT KEYSPACE LOCAL_DC
Connects to one node with lz4 compression and a token-aware, DC-aware policy, discovers the others from
system.local / system.peers_v2, writes 30 rows with a prepared INSERT at LOCAL_QUORUM and reads them back, and
prints one JSON line: the hosts it found, the token owners, the compression in use and each write's coordinator
(nodes as "address:port"). Then it reads one JSON line on stdin, sent once the test has changed the ring and pushed
events: the view to wait for, as [{"endpoint", "present", "up"}]. It follows the events until the driver's view
matches (at most 20 s), and prints the hosts again as a second JSON line.
"""
import json
import sys
import time

from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

host, port, keyspace, local_dc = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

profile = ExecutionProfile(
    load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=local_dc)),
    consistency_level=ConsistencyLevel.LOCAL_QUORUM,
    request_timeout=20)
cluster = Cluster(
    [host], port=port, execution_profiles={EXEC_PROFILE_DEFAULT: profile},
    schema_metadata_enabled=False, token_metadata_enabled=True, compression='lz4', connect_timeout=20, control_connection_timeout=20,
    topology_event_refresh_window=0, status_event_refresh_window=0)
session = cluster.connect()


def endpoint(host):
    return "%s:%d" % (host.endpoint.address, host.endpoint.port)


def hosts():
    return sorted(
        [{"endpoint": endpoint(h), "dc": h.datacenter, "rack": h.rack, "up": bool(h.is_up)} for h in cluster.metadata.all_hosts()],
        key=lambda h: h["endpoint"])


owners = {str(token.value): endpoint(h) for token, h in cluster.metadata.token_map.token_to_host_owner.items()}
insert = session.prepare("INSERT INTO " + keyspace + ".kv (k, n, v) VALUES (?, ?, ?)")
select = session.prepare("SELECT n, v FROM " + keyspace + ".kv WHERE k = ?")
coordinators = []
read_back = 0
for i in range(30):
    value = ("lz4 row %d " % i) * 40
    rs = session.execute(insert, ["py-%d" % i, i, value])
    coordinators.append(endpoint(rs.response_future.coordinator_host))
    rows = list(session.execute(select, ["py-%d" % i]))
    if len(rows) == 1 and rows[0].n == i and rows[0].v == value:
        read_back += 1

print(json.dumps({
    "protocol_version": cluster.protocol_version,
    "compression": cluster.control_connection._connection._compression_type,
    "hosts": hosts(),
    "owners": owners,
    "coordinators": coordinators,
    "read_back": read_back,
}), flush=True)

expected_after = json.loads(sys.stdin.readline())
deadline = time.time() + 20
while time.time() < deadline:
    view = hosts()
    if all(any(h["endpoint"] == e["endpoint"] and h["up"] == e["up"] for h in view) if e["present"]
           else all(h["endpoint"] != e["endpoint"] for h in view)
           for e in expected_after):
        break
    time.sleep(0.05)

print(json.dumps({"hosts": hosts()}), flush=True)
cluster.shutdown()
