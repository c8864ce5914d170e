using NATS.Client.Core;

namespace EdgeRelay.Storage.JetStream.Tests;

/// <summary>
/// A test backend's stores or queues, each on a connection of its own: a crash cuts the connection under the instance
/// before it is disposed (nothing it had not published reaches the cluster), and the connections left are closed at the end.
/// </summary>
internal sealed class OwnConnections<T>
    where T : class, IAsyncDisposable
{
    private readonly Dictionary<T, NatsConnection> _connections = [];

    /// <summary>Opens an instance on a new connection, which is then kept for it.</summary>
    public async Task<TOpened> OpenAsync<TOpened>(JetStreamStorageOptions options, Func<NatsConnection, Task<TOpened>> open)
        where TOpened : T
    {
        var connection = new NatsConnection(JetStreamStorage.ConnectionOptions(options));
        var instance = await open(connection);
        _connections[instance] = connection;
        return instance;
    }

    public async Task CrashAsync(T instance)
    {
        if (_connections.Remove(instance, out var connection))
        {
            await connection.DisposeAsync();
        }

        await instance.DisposeAsync();
    }

    public async Task CloseAsync()
    {
        foreach (var connection in _connections.Values)
        {
            await connection.DisposeAsync();
        }
    }
}
