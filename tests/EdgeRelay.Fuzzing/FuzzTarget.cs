namespace EdgeRelay.Fuzzing;

/// <summary>
/// One decoder under fuzzing. <see cref="Run"/> feeds it the bytes and returns whether it accepted them; a
/// refusal (false, or the exception type the decoder documents) is normal, anything else escaping is a bug:
/// afl-fuzz records it as a crash and the in-process replay fails on it.
/// </summary>
/// <param name="Seeds">Small valid encodings, made by the encoders: where afl-fuzz starts.</param>
/// <param name="Hidden">Not in the default list: the self-test targets that exist to prove a crash is caught.</param>
public sealed record FuzzTarget(string Name, Func<byte[], bool> Run, Func<IEnumerable<byte[]>> Seeds, bool Hidden = false);

/// <summary>A decoder broke its contract on an input: thrown so that afl-fuzz counts it as a crash.</summary>
public sealed class OracleException(string message) : Exception(message)
{
    public static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new OracleException(what);
        }
    }
}
