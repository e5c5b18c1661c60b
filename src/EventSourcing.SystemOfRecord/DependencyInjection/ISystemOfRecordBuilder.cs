using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.SystemOfRecord;

/// <summary>Configures the system of record registered by <c>AddSystemOfRecord</c>: its store, publisher and replay strategy.</summary>
public interface ISystemOfRecordBuilder
{
    /// <summary>The service collection the system of record is registered in.</summary>
    IServiceCollection Services { get; }
}

internal sealed class SystemOfRecordBuilder(IServiceCollection services) : ISystemOfRecordBuilder
{
    public IServiceCollection Services { get; } = services;
}

/// <summary>The replay strategy chosen with <c>WithReplayStrategy</c>.</summary>
internal sealed class ReplayStrategyRegistration(Action<DateTime> strategy)
{
    public Action<DateTime> Strategy { get; } = strategy;
}
