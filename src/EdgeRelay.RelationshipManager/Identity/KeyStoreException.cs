namespace EdgeRelay.RelationshipManager.Identity;

/// <summary>Why a key store could not be created, opened or rewritten. The values are stable: apps map them to messages.</summary>
public enum KeyStoreError
{
    /// <summary>The passphrase does not open the file (the AEAD tag did not verify).</summary>
    WrongPassphrase = 1,

    /// <summary>There is no key store file at the path.</summary>
    NotFound = 2,

    /// <summary>Create was asked for a path where a file already exists; it never overwrites one.</summary>
    AlreadyExists = 3,

    /// <summary>Not a key store file: bad magic, truncated, or of the wrong length for its version.</summary>
    Corrupt = 4,

    /// <summary>A key store of a format version this library does not know (a newer one, probably).</summary>
    UnsupportedVersion = 5,

    /// <summary>
    /// Argon2id parameters outside the bounds this library accepts: read from a file (which might be hostile and
    /// ask for any amount of memory) or given to Create / ChangePassphrase.
    /// </summary>
    ParametersOutOfRange = 6,

    /// <summary>An empty passphrase, one longer than the limit, or one that is not valid Unicode (a lone surrogate).</summary>
    PassphraseUnusable = 7,

    /// <summary>A blob sealed with the state key did not open: altered, truncated, or sealed for other associated data.</summary>
    SealedDataRejected = 8,
}

/// <summary>A key store operation refused; <see cref="Error"/> says why in a form code can test.</summary>
public sealed class KeyStoreException : Exception
{
    public KeyStoreException()
        : this(KeyStoreError.Corrupt, "The key store was refused.")
    {
    }

    public KeyStoreException(string message)
        : this(KeyStoreError.Corrupt, message)
    {
    }

    public KeyStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
        Error = KeyStoreError.Corrupt;
    }

    public KeyStoreException(KeyStoreError error, string message, Exception? innerException = null)
        : base($"{error}: {message}", innerException)
    {
        Error = error;
    }

    public KeyStoreError Error { get; }
}
