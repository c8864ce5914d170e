using System.Text;
using EdgeRelay.Client;
using EdgeRelay.RelationshipManager.Identity;
using EdgeRelay.RelationshipManager.Services;
using EdgeRelay.RelationshipManager.State;

namespace EdgeRelay.RelationshipManager;

/// <summary>
/// A person's relationship manager: their identity, their relationships, and the messages between them,
/// kept in a home directory and exchanged through relays. What an app embeds; the <c>edgerelay-rm</c>
/// command line is built on this API alone.
/// </summary>
/// <remarks>
/// <para>Every operation is serialised on one instance; several processes may share a home directory
/// (a following inbox and a send), because each operation reads and writes its relationship's state
/// inside one SQLite transaction.</para>
/// <para>Files: this one opens and creates; <c>.Invitations.cs</c> invites and accepts; <c>.Sending.cs</c>
/// seals commands into the outbox and flushes it; <c>.Receiving.cs</c> pulls, follows and processes what
/// arrives; <c>.Contacts.cs</c> lists, verifies and terminates; <c>.Addresses.cs</c> creates and
/// authenticates our addresses; <c>.Services.cs</c> keeps the list of services; <c>.Rotation.cs</c> keeps
/// each relationship's addresses current across services and lifetimes.</para>
/// </remarks>
public sealed partial class RelationshipManager : IAsyncDisposable
{
    /// <summary>Longest preferred name, in UTF-8 bytes (it travels in invitations: docs/RM-PROTOCOL.md §3).</summary>
    public const int MaxNameBytes = 64;

    private readonly RelationshipManagerOptions _options;
    private readonly KeyStore _keys;
    private readonly RmDatabase _database;
    private readonly ServiceConnections _connections;
    private readonly Envelopes.Suite1 _suite;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private int _disposed;

    private RelationshipManager(RelationshipManagerOptions options, KeyStore keys, RmDatabase database)
    {
        _options = options;
        _keys = keys;
        _database = database;
        _connections = new ServiceConnections(options.Client, options.Time);
        LearnServiceEndpoints();
        _suite = new Envelopes.Suite1(options.Time);
        var profile = database.GetProfile() ?? throw new StateException(StateError.Corrupt, "The state database has no profile.");
        Name = profile.Name;
        if (!profile.Identity.Equals(keys.Identity.Public))
        {
            throw new StateException(StateError.Corrupt, "The state database belongs to another identity than the key store.");
        }
    }

    /// <summary>Our preferred name, as correspondents see it.</summary>
    public string Name { get; private set; }

    /// <summary>Our identity's public keys.</summary>
    public PublicIdentity Identity => _keys.Identity.Public;

    private TimeProvider Time => _options.Time;

    /// <summary>
    /// Creates an RM in <see cref="RelationshipManagerOptions.Home"/>: a new identity sealed with
    /// <paramref name="passphrase"/>, the relay at <paramref name="relayEndpoint"/> as its receiving (and
    /// sending) service, and a first address there. Nothing is left behind if any step fails.
    /// </summary>
    /// <param name="relayPin">SHA-256 of the relay's TLS public key, for a relay that speaks TLS; empty for plain TCP.</param>
    /// <param name="sendingToken">An RM token of the relay, to send through it (SEND_VIA) instead of directly to each recipient's relay.</param>
    public static async Task<RelationshipManager> InitializeAsync(
        RelationshipManagerOptions options,
        string passphrase,
        string name,
        string relayEndpoint,
        ReadOnlyMemory<byte> relayPin = default,
        string? sendingToken = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(passphrase);
        ArgumentException.ThrowIfNullOrWhiteSpace(relayEndpoint);
        CheckName(name);
        if (File.Exists(options.KeyStorePath) || File.Exists(options.DatabasePath))
        {
            throw new RmException(RmError.AlreadyInitialized, $"{options.Home} already holds a relationship manager.");
        }

        CreatePrivateDirectory(options.Home);
        RelationshipManager? rm = null;
        try
        {
            var keys = KeyStore.Create(options.KeyStorePath, passphrase, options.KeyStore);
            RmDatabase database;
            try
            {
                database = RmDatabase.Open(options.DatabasePath);
                using (var writer = database.BeginWrite())
                {
                    var now = options.Time.GetUtcNow();
                    writer.SetProfile(name, keys.Identity.Public, now);
                    var roles = ServiceRoles.Receiving | (sendingToken is null ? ServiceRoles.None : ServiceRoles.Sending);
                    var token = sendingToken is null ? null : keys.StateSealer.Seal(Encoding.UTF8.GetBytes(sendingToken), Sealing.ServiceToken(relayEndpoint));
                    writer.AddService(relayEndpoint, relayPin.IsEmpty ? null : relayPin.ToArray(), roles, token, now);
                    writer.Commit();
                }
            }
            catch
            {
                keys.Dispose();
                throw;
            }

            rm = new RelationshipManager(options, keys, database);
            await rm.CreateAddressesAsync(rm.ActiveReceivingServices(), firstOnly: true, cancellationToken);
            return rm;
        }
        catch
        {
            if (rm is not null)
            {
                await rm.DisposeAsync();
            }

            DeleteState(options);
            throw;
        }
    }

    /// <summary>Opens the RM in <see cref="RelationshipManagerOptions.Home"/> with its passphrase.</summary>
    /// <exception cref="RmException"><see cref="RmError.NotInitialized"/> when the home holds no RM.</exception>
    /// <exception cref="KeyStoreException">A wrong passphrase or a damaged key store.</exception>
    public static RelationshipManager Open(RelationshipManagerOptions options, string passphrase)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(passphrase);
        if (!File.Exists(options.KeyStorePath) || !File.Exists(options.DatabasePath))
        {
            throw new RmException(RmError.NotInitialized, $"{options.Home} holds no relationship manager: run init first.");
        }

        var keys = KeyStore.Open(options.KeyStorePath, passphrase);
        try
        {
            var database = RmDatabase.Open(options.DatabasePath);
            try
            {
                return new RelationshipManager(options, keys, database);
            }
            catch
            {
                database.Dispose();
                throw;
            }
        }
        catch
        {
            keys.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _gate.WaitAsync();
        try
        {
            await _connections.DisposeAsync();
            _database.Dispose();
            _keys.Dispose();
        }
        finally
        {
            _gate.Release();
        }
    }

    internal static void CheckName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var bytes = Encoding.UTF8.GetByteCount(name);
        if (string.IsNullOrWhiteSpace(name) || bytes > MaxNameBytes || name.Any(char.IsControl))
        {
            throw new RmException(RmError.InvalidName, $"A name is 1 to {MaxNameBytes} bytes of UTF-8 text without control characters.");
        }
    }

    // Serialises operations on this instance; a held gate across awaits is why this is a semaphore.
    private async Task<T> SerialisedAsync<T>(Func<Task<T>> operation, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            return await operation();
        }
        finally
        {
            _gate.Release();
        }
    }

    private T Serialised<T>(Func<T> operation)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        _gate.Wait();
        try
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            return operation();
        }
        finally
        {
            _gate.Release();
        }
    }

    private static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            // Only the user may list or read it: it holds the sealed keys and every message.
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static void DeleteState(RelationshipManagerOptions options)
    {
        foreach (var file in new[] { options.KeyStorePath, options.DatabasePath, options.DatabasePath + "-wal", options.DatabasePath + "-shm" })
        {
            File.Delete(file);
        }
    }
}
