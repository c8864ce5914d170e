namespace EdgeRelay.RelationshipManager.State;

/// <summary>Why the RM's state database could not be used.</summary>
public enum StateError
{
    /// <summary>The database was written by a newer version of the library: opening it could lose data.</summary>
    NewerSchema = 1,

    /// <summary>A migration failed; the database is left at the version it had.</summary>
    MigrationFailed = 2,

    /// <summary>A row the RM expects is missing or does not decode: the file was altered outside the library.</summary>
    Corrupt = 3,
}

public sealed class StateException : Exception
{
    public StateException(StateError error, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Error = error;
    }

    public StateException()
    {
    }

    public StateException(string message)
        : base(message)
    {
    }

    public StateException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public StateError Error { get; }
}
