using System.Text.Json;
using System.Text.Json.Serialization;

namespace EventSourcing.SystemOfRecord.Tests.Serialization;

[EventType("orders.placed.v1")]
public sealed record OrderPlaced(int OrderId, decimal Total);

public sealed record OrderShipped(int OrderId, string Carrier);

[EventType("")]
public sealed record BadlyNamed(int Id);

[JsonSerializable(typeof(OrderPlaced))]
[JsonSerializable(typeof(OrderShipped))]
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
internal sealed partial class TestEventsContext : JsonSerializerContext;
