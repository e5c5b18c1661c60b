using System.Collections.Concurrent;
using System.Reflection;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// The event type name of each CLR event type: a mapping made here (<see cref="Map{TEvent}(string)"/>), else the type's
/// <see cref="EventTypeAttribute"/>, else the type's own name. Typed appends store it as <see cref="RecordedEvent.Type"/>;
/// typed consumers dispatch on it. Map types you cannot annotate (generated Protobuf classes, say) here. Configured
/// through the options pattern (<c>MapEventType&lt;T&gt;(name)</c> on the service collection or the system of record
/// builder); thread-safe.
/// </summary>
public sealed class EventTypeRegistry
{
    /// <summary>The longest event type name accepted.</summary>
    public const int MaxNameLength = 256;

    private readonly ConcurrentDictionary<Type, string> _mapped = new();
    private readonly ConcurrentDictionary<string, Type> _byName = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Type, string> _resolved = new();
    private readonly object _mapGate = new();

    /// <summary>Names <typeparamref name="TEvent"/> <paramref name="name"/>, over its attribute and its type name.</summary>
    /// <inheritdoc cref="Map(Type, string)"/>
    public EventTypeRegistry Map<TEvent>(string name) => Map(typeof(TEvent), name);

    /// <summary>Names <paramref name="eventType"/> <paramref name="name"/>, over its attribute and its type name.</summary>
    /// <param name="eventType">The CLR type.</param>
    /// <param name="name">The event type name: not empty, no control characters, at most 256 characters.</param>
    /// <returns>This registry, to chain mappings.</returns>
    /// <exception cref="ArgumentException">
    /// The name is not valid, <paramref name="eventType"/> is already mapped to another name, or the name to another type.
    /// </exception>
    public EventTypeRegistry Map(Type eventType, string name)
    {
        ArgumentNullException.ThrowIfNull(eventType);
        ThrowIfInvalidName(name, nameof(name));
        lock (_mapGate)
        {
            if (_mapped.TryGetValue(eventType, out var existing) && existing != name)
            {
                throw new ArgumentException($"{eventType.FullName} is already mapped to the event type '{existing}'; it cannot also be '{name}'.", nameof(eventType));
            }

            if (_byName.TryGetValue(name, out var other) && other != eventType)
            {
                throw new ArgumentException($"The event type '{name}' is already mapped to {other.FullName}; it cannot also name {eventType.FullName}.", nameof(name));
            }

            _mapped[eventType] = name;
            _byName[name] = eventType;
            _resolved.TryRemove(eventType, out _);
        }

        return this;
    }

    /// <summary>The event type name of <typeparamref name="TEvent"/>.</summary>
    public string GetName<TEvent>() => GetName(typeof(TEvent));

    /// <summary>The event type name of <paramref name="eventType"/>: its mapping, else its <see cref="EventTypeAttribute"/>, else its type name.</summary>
    /// <exception cref="ArgumentException">The type's <see cref="EventTypeAttribute"/> holds an invalid name.</exception>
    public string GetName(Type eventType)
    {
        ArgumentNullException.ThrowIfNull(eventType);
        if (_mapped.TryGetValue(eventType, out var mapped))
        {
            return mapped;
        }

        return _resolved.GetOrAdd(eventType, DefaultName);
    }

    /// <summary>
    /// The name a type has without any mapping: its <see cref="EventTypeAttribute"/>, else its type name. What
    /// <see cref="RecordedEventSerializationExtensions"/> use when no registry is given.
    /// </summary>
    /// <exception cref="ArgumentException">The type's <see cref="EventTypeAttribute"/> holds an invalid name.</exception>
    public static string DefaultName(Type eventType)
    {
        ArgumentNullException.ThrowIfNull(eventType);
        if (eventType.GetCustomAttribute<EventTypeAttribute>(inherit: false) is { } attribute)
        {
            ThrowIfInvalidName(attribute.Name, nameof(eventType), $"The [EventType] attribute of {eventType.FullName}: ");
            return attribute.Name;
        }

        return eventType.Name;
    }

    private static void ThrowIfInvalidName(string? name, string paramName, string prefix = "")
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            ThrowHelper.ThrowArgument(paramName, prefix + "An event type name must not be empty.");
        }

        if (name.Length > MaxNameLength)
        {
            ThrowHelper.ThrowArgument(paramName, prefix + $"The event type name is {name.Length} characters; at most {MaxNameLength} are allowed.");
        }

        if (name.Any(char.IsControl) || name.Trim().Length != name.Length)
        {
            ThrowHelper.ThrowArgument(paramName, prefix + $"The event type name '{name.Trim()}' has control characters or surrounding spaces.");
        }
    }
}
