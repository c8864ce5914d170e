using EdgeRelay.Client;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Tests.EndToEnd;

/// <summary>One person's RM home, opened on demand: what an app would hold.</summary>
internal sealed class Person : IAsyncDisposable
{
    public const string Passphrase = "correct horse battery staple";

    private readonly TempDirectory _home = new("edgerelay-rm-home");

    private Person(string name, TimeProvider? time)
    {
        Name = name;
        Options = new RelationshipManagerOptions
        {
            Home = _home.Path,
            Time = time ?? TimeProvider.System,
            KeyStore = KeyStoreOptions.Testing,
            AddressRescanInterval = TimeSpan.FromMilliseconds(200),
            Client = new RelayClientOptions { TimeProvider = time ?? TimeProvider.System },
        };
    }

    public string Name { get; }

    public RelationshipManagerOptions Options { get; private set; }

    public RelationshipManager Rm { get; private set; } = null!;

    /// <param name="endpoint">Where the RM records its service: the relay's own endpoint unless given (another name for it, such as a proxy's).</param>
    public static async Task<Person> InitializeAsync(string name, LoopbackRelay relay, TimeProvider? time = null, Func<RelationshipManagerOptions, RelationshipManagerOptions>? configure = null, string? sendingToken = null, string? endpoint = null)
    {
        var person = new Person(name, time);
        if (configure is not null)
        {
            person.Options = configure(person.Options);
        }

        person.Rm = await RelationshipManager.InitializeAsync(person.Options, Passphrase, name, endpoint ?? relay.Endpoint, sendingToken: sendingToken);
        return person;
    }

    /// <summary>Closes and opens the home again, as an app restarted would.</summary>
    public async Task ReopenAsync()
    {
        await Rm.DisposeAsync();
        Rm = RelationshipManager.Open(Options, Passphrase);
    }

    public Contact Contact(string name) => Rm.FindContact(name);

    public async ValueTask DisposeAsync()
    {
        await Rm.DisposeAsync();
        _home.Dispose();
    }
}
