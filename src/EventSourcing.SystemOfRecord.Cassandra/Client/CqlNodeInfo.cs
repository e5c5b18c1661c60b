using System.Net;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

/// <summary>One node as <c>system.local</c> or <c>system.peers(_v2)</c> describe it.</summary>
/// <param name="HostId">The node's stable id (survives address changes).</param>
/// <param name="RpcEndpoint">The address and native protocol port clients reach it on; server events name nodes by it.</param>
/// <param name="DataCenter">Its data center.</param>
/// <param name="Rack">Its rack.</param>
/// <param name="Tokens">Its Murmur3 tokens; empty when unknown or another partitioner is in use.</param>
internal sealed record CqlNodeInfo(Guid HostId, IPEndPoint RpcEndpoint, string DataCenter, string Rack, long[] Tokens);
