namespace EdgeRelay.RelationshipManager.Identity;

/// <summary>
/// The Argon2id cost of sealing a key store: what a guess at the passphrase costs an attacker who has the file,
/// and what opening it costs the user once per start.
/// </summary>
/// <remarks>
/// The defaults are libsodium's "moderate" limits (256 MiB, 3 passes, 1 lane; NSec supports one lane only):
/// memory-hard enough that a GPU farm gains little, cheap enough for a desktop app to open once per start.
/// Measured on the 2-core x64 build machine (AMD EPYC, libsodium through NSec 26.4): one KeyStore.Open with
/// these defaults takes 1.0 s (six opens in a row, 1.02 to 1.09 s after the first, under a load average of 10
/// from other builds; 0.78 s for the bare Argon2id run when the machine was quieter) and peaks at 290 MiB of
/// working set. Tests use <see cref="Testing"/> (8 KiB, 1 pass: about a millisecond). A phone
/// app may lower <see cref="MemoryKiB"/> towards <see cref="MinMemoryKiB"/>; the parameters are recorded in
/// the file, so a store written with any accepted values opens with this and later versions of the library.
/// </remarks>
public sealed record KeyStoreOptions
{
    /// <summary>OWASP's floor for Argon2id (19 MiB).</summary>
    public const int MinMemoryKiB = 19 * 1024;

    /// <summary>
    /// The most memory a key store may ask for (1 GiB, libsodium's "sensitive" limit). Also the bound on what a
    /// file may ask for when read, so a hostile file cannot make an open allocate without limit.
    /// </summary>
    public const int MaxMemoryKiB = 1024 * 1024;

    public const int MinIterations = 2;

    /// <summary>The most passes accepted, on write and on read: with <see cref="MaxMemoryKiB"/>, a few seconds.</summary>
    public const int MaxIterations = 10;

    /// <summary>Argon2's own minimum (8 KiB), accepted on read only: files written by the tests' cheap options.</summary>
    internal const int FloorMemoryKiB = 8;

    internal const int FloorIterations = 1;

    public static KeyStoreOptions Default { get; } = new();

    /// <summary>Argon2's minimum cost: fast tests. Never offered publicly (it would make a passphrase cheap to guess).</summary>
    internal static KeyStoreOptions Testing { get; } = new() { MemoryKiB = FloorMemoryKiB, Iterations = FloorIterations, IsTesting = true };

    /// <summary>Argon2id memory in KiB; 262144 (256 MiB) by default.</summary>
    public int MemoryKiB { get; init; } = 256 * 1024;

    /// <summary>Argon2id passes over the memory; 3 by default.</summary>
    public int Iterations { get; init; } = 3;

    internal bool IsTesting { get; private init; }

    /// <exception cref="KeyStoreException"><see cref="KeyStoreError.ParametersOutOfRange"/>.</exception>
    internal void Validate()
    {
        var minMemory = IsTesting ? FloorMemoryKiB : MinMemoryKiB;
        var minIterations = IsTesting ? FloorIterations : MinIterations;
        if (MemoryKiB < minMemory || MemoryKiB > MaxMemoryKiB || Iterations < minIterations || Iterations > MaxIterations)
        {
            throw new KeyStoreException(
                KeyStoreError.ParametersOutOfRange,
                $"Argon2id memory must be {MinMemoryKiB} to {MaxMemoryKiB} KiB and passes {MinIterations} to {MaxIterations} (got {MemoryKiB} KiB, {Iterations}).");
        }
    }
}
