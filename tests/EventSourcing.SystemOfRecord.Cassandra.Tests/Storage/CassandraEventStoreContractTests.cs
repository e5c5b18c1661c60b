using EventSourcing.SystemOfRecord.Cassandra.Tests.Support;
using EventSourcing.SystemOfRecord.Tests.Storage;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Storage;

/// <summary>A fresh test server per test; a reopened store is a second client over the same server.</summary>
public sealed class CassandraStoreFixture : IEventStoreFixture
{
    private CqlServerMock? _server;

    public async Task<IEventStore> CreateStoreAsync()
    {
        _server = new CqlServerMock();
        await _server.StartAsync();
        return Open();
    }

    public Task<IEventStore> OpenSameStoreAsync(IEventStore store) => Task.FromResult<IEventStore>(Open());

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    private CassandraEventStore Open() => new(Options.Create(new CassandraStoreOptions { ContactPoints = [_server!.ContactPoint], Keyspace = "contract" }));
}

public sealed class CassandraEventStoreContractTests : EventStoreContractTests<CassandraStoreFixture>;

public sealed class CassandraCheckpointStoreContractTests : CheckpointStoreContractTests<CassandraStoreFixture>;
