namespace EventSourcing.SystemOfRecord;

/// <summary>
/// Names the event type of a CLR type: the name a typed append stores as <see cref="RecordedEvent.Type"/> (and the
/// Kafka publisher sends as CloudEvents <c>type</c>), and the name typed consumers dispatch on. Without it (and without
/// a mapping in <see cref="EventTypeRegistry"/>) the name is the type's own name (<see cref="System.Reflection.MemberInfo.Name"/>).
/// Prefer a stable, versioned name (<c>orders.placed.v1</c>) so that renaming the class does not rename the event.
/// </summary>
/// <param name="name">The event type name: not empty, no control characters, at most 256 characters.</param>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false, AllowMultiple = false)]
public sealed class EventTypeAttribute(string name) : Attribute
{
    /// <summary>The event type name.</summary>
    public string Name { get; } = name;
}
