using Microsoft.Data.Sqlite;

namespace EdgeRelay.RelationshipManager.State;

/// <summary>
/// The RM's SQLite file: opened with durable settings, migrated to <see cref="Schema.LatestVersion"/>, and
/// written only inside transactions (<see cref="BeginWrite"/>), so a crash never leaves half a relationship.
/// </summary>
/// <remarks>
/// WAL with <c>synchronous=FULL</c>: a committed transaction survives power loss, which the RM relies on
/// before it acknowledges a message to its relay (an ack means "stored": the relay then forgets it).
/// One connection, used by one caller at a time (the facade serialises its operations).
/// </remarks>
internal sealed partial class RmDatabase : IDisposable
{
    private readonly SqliteConnection _connection;

    // The write transaction in progress, if any: reads made meanwhile join it (SQLite requires it on a
    // connection with a pending transaction, and the facade reads what it has just written).
    private SqliteTransaction? _current;

    private RmDatabase(SqliteConnection connection)
    {
        _connection = connection;
    }

    public int Version => (int)(long)Scalar("PRAGMA user_version;")!;

    /// <summary>Opens (creating if needed) and migrates the database at <paramref name="path"/>.</summary>
    public static RmDatabase Open(string path) => Open(path, Schema.Migrations);

    /// <summary>Opens with the given migrations: tests use it to prove how an upgrade behaves.</summary>
    internal static RmDatabase Open(string path, IReadOnlyList<string> migrations)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false, // a pooled connection would keep the file open after Dispose (tests delete it)
        }.ToString());
        connection.Open();
        var database = new RmDatabase(connection);
        try
        {
            database.Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
            database.Migrate(migrations);
            return database;
        }
        catch
        {
            database.Dispose();
            throw;
        }
    }

    public RmWriter BeginWrite()
    {
        if (_current is not null)
        {
            throw new InvalidOperationException("A write transaction is already open on the state database.");
        }

        _current = _connection.BeginTransaction();
        return new RmWriter(this, _current);
    }

    internal void EndWrite(SqliteTransaction transaction)
    {
        if (ReferenceEquals(_current, transaction))
        {
            _current = null;
        }
    }

    public void Dispose() => _connection.Dispose();

    internal SqliteCommand Command(string sql, SqliteTransaction? transaction = null)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction ?? _current;
        return command;
    }

    private void Migrate(IReadOnlyList<string> migrations)
    {
        var version = Version;
        if (version > migrations.Count)
        {
            throw new StateException(StateError.NewerSchema, $"The state database has schema version {version}; this library knows up to {migrations.Count}. Use a newer version of the library.");
        }

        for (var next = version + 1; next <= migrations.Count; next++)
        {
            // BEGIN IMMEDIATE: another process opening the same file waits here, then finds the version moved on.
            using var transaction = _connection.BeginTransaction();
            _current = transaction;
            try
            {
                if (Version < next)
                {
                    Execute(migrations[next - 1], transaction);
                    // PRAGMA takes no parameters; next is an integer we produced.
                    Execute($"PRAGMA user_version = {next};", transaction);
                }

                transaction.Commit();
            }
            catch (SqliteException e)
            {
                transaction.Rollback();
                throw new StateException(StateError.MigrationFailed, $"Migrating the state database to version {next} failed; it is still at version {next - 1}: {e.Message}", e);
            }
            finally
            {
                _current = null;
            }
        }
    }

    private void Execute(string sql, SqliteTransaction? transaction = null)
    {
        using var command = Command(sql, transaction);
        command.ExecuteNonQuery();
    }

    private object? Scalar(string sql)
    {
        using var command = Command(sql);
        return command.ExecuteScalar();
    }
}
