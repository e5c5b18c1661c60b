using System.Diagnostics;
using System.Runtime.InteropServices;

namespace EventSourcing.SystemOfRecord.Kafka.Testing;

/// <summary>
/// librdkafka's built-in mock Kafka cluster (<c>rd_kafka_mock_*</c>, see librdkafka's <c>src/rdkafka_mock.h</c>), started
/// in-process on loopback: real brokers speaking the Kafka protocol, with fault injection. It runs inside the very
/// librdkafka that Confluent.Kafka loaded (on Debian <c>centos8-librdkafka.so</c>: the default build needs libsasl2.so.3).
/// Test and sample code only: the mock API is experimental and not ABI-stable.
/// </summary>
internal sealed unsafe class KafkaMockCluster : IDisposable
{
    /// <summary>Kafka protocol request keys used with <see cref="PushRequestErrors"/>.</summary>
    public const short ProduceApiKey = 0;
    public const short AddPartitionsToTxnApiKey = 24;
    public const short EndTxnApiKey = 26;

    /// <summary>Kafka error codes.</summary>
    public const int NotLeaderOrFollower = 6;
    public const int RequestTimedOut = 7;
    public const int NotEnoughReplicas = 19;
    public const int NotEnoughReplicasAfterAppend = 20;
    public const int OutOfOrderSequenceNumber = 45;
    public const int MessageTooLarge = 10;
    public const int ProducerFenced = 90;

    private static readonly Lazy<Native> Api = new(Native.Load);

    private readonly Native _api;
    private nint _handle;
    private nint _cluster;

    /// <summary>Starts a cluster of <paramref name="brokers"/> brokers, ids 1 to <paramref name="brokers"/>.</summary>
    public KafkaMockCluster(int brokers = 3)
    {
        _api = Api.Value;
        var errors = stackalloc byte[512];
        var conf = _api.ConfNew();
        Set(conf, "log_level", "3", errors);

        // The cluster needs an rd_kafka_t for its bookkeeping; a producer handle that never produces will do.
        _handle = _api.New(0, conf, errors, 512);
        if (_handle == 0)
        {
            throw new InvalidOperationException("rd_kafka_new failed: " + Marshal.PtrToStringUTF8((nint)errors));
        }

        _cluster = _api.ClusterNew(_handle, brokers);
        if (_cluster == 0)
        {
            _api.Destroy(_handle);
            throw new InvalidOperationException("rd_kafka_mock_cluster_new failed.");
        }

        BootstrapServers = Marshal.PtrToStringUTF8(_api.Bootstraps(_cluster))!;
        Brokers = brokers;

        // Groups form as soon as a member joined (a real broker waits 3 s), so tests do not sit idle.
        _api.InitialRebalanceDelay(_cluster, 0);
    }

    /// <summary>The <c>bootstrap.servers</c> of the cluster: loopback listeners.</summary>
    public string BootstrapServers { get; }

    /// <summary>How many brokers the cluster has.</summary>
    public int Brokers { get; }

    /// <summary>The path of the librdkafka file Confluent.Kafka loaded, which the mock API is called in.</summary>
    public static string LibraryPath => Api.Value.Path;

    /// <summary>Creates a topic with every partition replicated on <paramref name="replicationFactor"/> brokers.</summary>
    public void CreateTopic(string topic, int partitions, int replicationFactor = 3) =>
        Check(WithUtf8(topic, t => _api.TopicCreate(Cluster, t, partitions, replicationFactor)), "rd_kafka_mock_topic_create");

    /// <summary>Disconnects a broker (-1: all) and refuses connections; leaders do not move.</summary>
    public void SetBrokerDown(int brokerId = -1) => Check(_api.BrokerSetDown(Cluster, brokerId), "rd_kafka_mock_broker_set_down");

    /// <summary>Makes a broker (-1: all) accept connections again.</summary>
    public void SetBrokerUp(int brokerId = -1) => Check(_api.BrokerSetUp(Cluster, brokerId), "rd_kafka_mock_broker_set_up");

    /// <summary>Delays every response of a broker (-1: all) by <paramref name="milliseconds"/>.</summary>
    public void SetRoundTripTime(int milliseconds, int brokerId = -1) => Check(_api.BrokerSetRtt(Cluster, brokerId, milliseconds), "rd_kafka_mock_broker_set_rtt");

    /// <summary>Moves the leadership of a partition to <paramref name="brokerId"/>.</summary>
    public void SetPartitionLeader(string topic, int partition, int brokerId) =>
        Check(WithUtf8(topic, t => _api.PartitionSetLeader(Cluster, t, partition, brokerId)), "rd_kafka_mock_partition_set_leader");

    /// <summary>The next <c>errors.Length</c> requests of <paramref name="apiKey"/> fail with these Kafka error codes, in order.</summary>
    public void PushRequestErrors(short apiKey, params int[] errors)
    {
        fixed (int* codes = errors)
        {
            _api.PushRequestErrorsArray(Cluster, apiKey, (nuint)errors.Length, codes);
        }
    }

    /// <summary>
    /// The next request of <paramref name="apiKey"/> that touches this one partition fails there with the Kafka error
    /// code <paramref name="error"/>; the request's other partitions are answered as usual.
    /// </summary>
    /// <remarks>
    /// <c>rd_kafka_mock_partition_push_request_errors</c> is variadic; it is called with exactly one error, which the
    /// x64 calling conventions (System V and Windows) pass like a fixed argument.
    /// </remarks>
    public void PushPartitionRequestError(string topic, int partition, short apiKey, int error) =>
        Check(WithUtf8(topic, t => _api.PartitionPushRequestErrors(Cluster, t, partition, apiKey, 1, error)), "rd_kafka_mock_partition_push_request_errors");

    /// <summary>
    /// The broker loses every record of the partition before <paramref name="beforeOffset"/> (its log start moves up),
    /// as acknowledged records are lost in an unclean failover or by a wrong retention setting.
    /// </summary>
    public void DeleteRecords(string topic, int partition, long beforeOffset) =>
        Check(WithUtf8(topic, t => _api.PartitionDeleteRecords(Cluster, t, partition, beforeOffset)), "rd_kafka_mock_partition_delete_records");

    public void Dispose()
    {
        if (_cluster != 0)
        {
            _api.ClusterDestroy(_cluster);
            _cluster = 0;
        }

        if (_handle != 0)
        {
            _api.Destroy(_handle);
            _handle = 0;
        }
    }

    private nint Cluster => _cluster != 0 ? _cluster : throw new ObjectDisposedException(nameof(KafkaMockCluster));

    private void Set(nint conf, string name, string value, byte* errors)
    {
        var result = WithUtf8(name, n => WithUtf8(value, v => _api.ConfSet(conf, n, v, errors, 512)));
        if (result != 0)
        {
            throw new InvalidOperationException($"rd_kafka_conf_set({name}) failed: " + Marshal.PtrToStringUTF8((nint)errors));
        }
    }

    private static void Check(int error, string function)
    {
        if (error != 0)
        {
            throw new InvalidOperationException($"{function} failed with librdkafka error {error}.");
        }
    }

    private static int WithUtf8(string text, Func<nint, int> call)
    {
        var utf8 = Marshal.StringToCoTaskMemUTF8(text);
        try
        {
            return call(utf8);
        }
        finally
        {
            Marshal.FreeCoTaskMem(utf8);
        }
    }

    /// <summary>The entry points, looked up in the librdkafka file Confluent.Kafka loaded.</summary>
    private sealed class Native
    {
        public required string Path { get; init; }
        public required delegate* unmanaged[Cdecl]<nint> ConfNew { get; init; }
        public required delegate* unmanaged[Cdecl]<nint, nint, nint, byte*, nuint, int> ConfSet { get; init; }
        public required delegate* unmanaged[Cdecl]<int, nint, byte*, nuint, nint> New { get; init; }
        public required delegate* unmanaged[Cdecl]<nint, void> Destroy { get; init; }
        public required delegate* unmanaged[Cdecl]<nint, int, nint> ClusterNew { get; init; }
        public required delegate* unmanaged[Cdecl]<nint, void> ClusterDestroy { get; init; }
        public required delegate* unmanaged[Cdecl]<nint, nint> Bootstraps { get; init; }
        public required delegate* unmanaged[Cdecl]<nint, nint, int, int, int> TopicCreate { get; init; }
        public required delegate* unmanaged[Cdecl]<nint, int, int> BrokerSetDown { get; init; }
        public required delegate* unmanaged[Cdecl]<nint, int, int> BrokerSetUp { get; init; }
        public required delegate* unmanaged[Cdecl]<nint, int, int, int> BrokerSetRtt { get; init; }
        public required delegate* unmanaged[Cdecl]<nint, nint, int, int, int> PartitionSetLeader { get; init; }
        public required delegate* unmanaged[Cdecl]<nint, short, nuint, int*, void> PushRequestErrorsArray { get; init; }
        public required delegate* unmanaged[Cdecl]<nint, nint, int, long, int> PartitionDeleteRecords { get; init; }
        public required delegate* unmanaged[Cdecl]<nint, nint, int, short, nuint, int, int> PartitionPushRequestErrors { get; init; }
        public required delegate* unmanaged[Cdecl]<nint, int, void> InitialRebalanceDelay { get; init; }

        public static Native Load()
        {
            // Have Confluent.Kafka load librdkafka its own way (it falls back from librdkafka.so to centos8-librdkafka.so
            // when libsasl2.so.3 is missing), then take the very file it loaded from the process's modules.
            Confluent.Kafka.Library.Load();
            string? path = null;
            foreach (ProcessModule module in Process.GetCurrentProcess().Modules)
            {
                if (module.ModuleName.Contains("librdkafka", StringComparison.OrdinalIgnoreCase))
                {
                    path = module.FileName;
                    break;
                }
            }

            if (path is null)
            {
                throw new InvalidOperationException("Confluent.Kafka loaded no librdkafka module into this process.");
            }

            var library = NativeLibrary.Load(path);
            nint Export(string name) => NativeLibrary.GetExport(library, name);
            return new Native
            {
                Path = path,
                ConfNew = (delegate* unmanaged[Cdecl]<nint>)Export("rd_kafka_conf_new"),
                ConfSet = (delegate* unmanaged[Cdecl]<nint, nint, nint, byte*, nuint, int>)Export("rd_kafka_conf_set"),
                New = (delegate* unmanaged[Cdecl]<int, nint, byte*, nuint, nint>)Export("rd_kafka_new"),
                Destroy = (delegate* unmanaged[Cdecl]<nint, void>)Export("rd_kafka_destroy"),
                ClusterNew = (delegate* unmanaged[Cdecl]<nint, int, nint>)Export("rd_kafka_mock_cluster_new"),
                ClusterDestroy = (delegate* unmanaged[Cdecl]<nint, void>)Export("rd_kafka_mock_cluster_destroy"),
                Bootstraps = (delegate* unmanaged[Cdecl]<nint, nint>)Export("rd_kafka_mock_cluster_bootstraps"),
                TopicCreate = (delegate* unmanaged[Cdecl]<nint, nint, int, int, int>)Export("rd_kafka_mock_topic_create"),
                BrokerSetDown = (delegate* unmanaged[Cdecl]<nint, int, int>)Export("rd_kafka_mock_broker_set_down"),
                BrokerSetUp = (delegate* unmanaged[Cdecl]<nint, int, int>)Export("rd_kafka_mock_broker_set_up"),
                BrokerSetRtt = (delegate* unmanaged[Cdecl]<nint, int, int, int>)Export("rd_kafka_mock_broker_set_rtt"),
                PartitionSetLeader = (delegate* unmanaged[Cdecl]<nint, nint, int, int, int>)Export("rd_kafka_mock_partition_set_leader"),
                PushRequestErrorsArray = (delegate* unmanaged[Cdecl]<nint, short, nuint, int*, void>)Export("rd_kafka_mock_push_request_errors_array"),
                PartitionDeleteRecords = (delegate* unmanaged[Cdecl]<nint, nint, int, long, int>)Export("rd_kafka_mock_partition_delete_records"),
                PartitionPushRequestErrors = (delegate* unmanaged[Cdecl]<nint, nint, int, short, nuint, int, int>)Export("rd_kafka_mock_partition_push_request_errors"),
                InitialRebalanceDelay = (delegate* unmanaged[Cdecl]<nint, int, void>)Export("rd_kafka_mock_group_initial_rebalance_delay_ms"),
            };
        }
    }
}
