using EventSourcing.SystemOfRecord;

namespace OrdersWorker;

/// <summary>An order was placed. The event type name is stable and versioned, whatever the class is called.</summary>
[EventType("orders.placed.v1")]
public sealed record OrderPlaced(string OrderId, decimal Total);

/// <summary>An order left the warehouse.</summary>
[EventType("orders.shipped.v1")]
public sealed record OrderShipped(string OrderId, string Carrier);
