namespace EdgeRelay.RelationshipManager.Tests.EndToEnd;

/// <summary>
/// A relay on loopback and people on it, each named as their variable: how most end-to-end tests begin. Disposed
/// as separate <c>await using</c> declarations would be: the people last to first, then the relay.
/// </summary>
internal sealed class Cast : IAsyncDisposable
{
    private readonly List<Person> _people;

    private Cast(LoopbackRelay relay, List<Person> people)
    {
        Relay = relay;
        _people = people;
    }

    public LoopbackRelay Relay { get; }

    public static async Task<Cast> StartAsync(params string[] names)
    {
        var cast = new Cast(await LoopbackRelay.StartAsync(), []);
        try
        {
            foreach (var name in names)
            {
                cast._people.Add(await Person.InitializeAsync(name, cast.Relay));
            }

            return cast;
        }
        catch
        {
            await cast.DisposeAsync();
            throw;
        }
    }

    public void Deconstruct(out LoopbackRelay relay, out Person first, out Person second)
    {
        relay = Relay;
        (first, second) = (_people[0], _people[1]);
    }

    public void Deconstruct(out LoopbackRelay relay, out Person first, out Person second, out Person third)
    {
        relay = Relay;
        (first, second, third) = (_people[0], _people[1], _people[2]);
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _people.Count - 1; i >= 0; i--)
        {
            await _people[i].DisposeAsync();
        }

        await Relay.DisposeAsync();
    }
}
