using System.Text;
using EdgeRelay.Server.Access;
using EdgeRelay.Testing;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRelay.Server.Tests.Access;

public sealed class TokenStoreTests : IDisposable
{
    private static readonly TokenLimits Defaults = new() { RequestsPerSecond = 10, Burst = 5, MaxQueuedMessages = 3, MaxQueuedBytes = 1000, MaxAttachmentBytes = 500 };

    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));

    private string FilePath => _dir.Combine("tokens.json");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_created_token_authenticates_and_only_its_hash_is_written()
    {
        using var store = TokenStore.Open(FilePath, Defaults, _time);
        var issued = store.Create("alice-phone", TokenRole.Rm);

        Assert.StartsWith(TokenStore.Prefix, issued.Secret, StringComparison.Ordinal);
        Assert.Equal(TokenCheck.Valid, store.Authenticate(Encoding.ASCII.GetBytes(issued.Secret), out var token));
        Assert.Same(issued.Token, token);
        Assert.Equal(TokenRole.Rm, token!.Role);
        Assert.Equal("alice-phone", token.Name);

        var text = File.ReadAllText(FilePath);
        Assert.DoesNotContain(issued.Secret, text, StringComparison.Ordinal);
        Assert.DoesNotContain(issued.Secret[(TokenStore.Prefix.Length + 17)..], text, StringComparison.Ordinal);
        Assert.Contains(issued.Token.Id, text, StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(FilePath));
        }
    }

    [Fact]
    public void A_token_with_a_known_id_but_another_secret_is_unknown()
    {
        using var store = TokenStore.Open(FilePath, Defaults, _time);
        var issued = store.Create("alice", TokenRole.Rm);
        var forged = issued.Secret[..^4] + (issued.Secret[^4..] == "AAAA" ? "BBBB" : "AAAA");

        Assert.Equal(TokenCheck.Unknown, store.Authenticate(Encoding.ASCII.GetBytes(forged), out var token));
        Assert.Null(token);
        Assert.Equal(TokenCheck.Unknown, store.Authenticate("ert_short"u8, out _));
        Assert.Equal(TokenCheck.Unknown, store.Authenticate(Encoding.ASCII.GetBytes("xyz" + issued.Secret[3..]), out _));
    }

    [Fact]
    public void Revocation_is_kept_in_the_file_and_reaches_a_second_store_on_the_same_file()
    {
        using var relay = TokenStore.Open(FilePath, Defaults, _time);
        using var cli = TokenStore.Open(FilePath, Defaults, _time);
        var issued = cli.Create("bob", TokenRole.Rm);

        // The relay has not reloaded yet: an unknown token makes it read the file again before refusing.
        Assert.Equal(TokenCheck.Valid, relay.Authenticate(Encoding.ASCII.GetBytes(issued.Secret), out var held));

        Assert.True(cli.Revoke(issued.Token.Id));
        relay.Reload();
        Assert.True(held!.IsRevoked);
        Assert.Equal(_time.GetUtcNow().ToUnixTimeSeconds(), held.RevokedAt);
        Assert.Equal(TokenCheck.Revoked, relay.Authenticate(Encoding.ASCII.GetBytes(issued.Secret), out _));

        using var reopened = TokenStore.Open(FilePath, Defaults, _time);
        Assert.Equal(TokenCheck.Revoked, reopened.Authenticate(Encoding.ASCII.GetBytes(issued.Secret), out _));
        Assert.False(reopened.Revoke("0000000000000000"));
    }

    [Fact]
    public void A_token_removed_from_the_file_counts_as_revoked_for_the_connections_holding_it()
    {
        using var store = TokenStore.Open(FilePath, Defaults, _time);
        var issued = store.Create("carol", TokenRole.Peer);
        File.WriteAllText(FilePath, """{"version":1,"tokens":[]}""");
        store.Reload();

        Assert.True(issued.Token.IsRevoked);
    }

    [Fact]
    public void A_file_that_is_not_a_token_file_is_refused_with_its_name_and_the_tokens_stay()
    {
        File.WriteAllText(FilePath, "{ not json");
        var ex = Assert.Throws<InvalidDataException>(() => TokenStore.Open(FilePath, Defaults, _time));
        Assert.Contains(FilePath, ex.Message, StringComparison.Ordinal);

        File.Delete(FilePath);
        using var store = TokenStore.Open(FilePath, Defaults, _time);
        var issued = store.Create("dave", TokenRole.Rm);
        File.WriteAllText(FilePath, """{"version":2,"tokens":[]}""");
        Assert.Throws<InvalidDataException>(store.Reload);
        Assert.False(issued.Token.IsRevoked);
    }

    [Fact]
    public void Limits_left_at_zero_take_the_relay_defaults()
    {
        using var store = TokenStore.Open(FilePath, Defaults, _time);
        var token = store.Create("erin", TokenRole.Rm, new TokenLimits { RequestsPerSecond = 99 }).Token;

        Assert.Equal(99, token.Limits.RequestsPerSecond);
        Assert.Equal(Defaults.Burst, token.Limits.Burst);
        Assert.Equal(Defaults.MaxQueuedMessages, token.Limits.MaxQueuedMessages);
        Assert.Equal(Defaults.MaxAttachmentBytes, token.Limits.MaxAttachmentBytes);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("tab\there")]
    public void A_name_must_be_printable(string name)
    {
        using var store = TokenStore.Open(FilePath, Defaults, _time);
        Assert.Throws<ArgumentException>(() => store.Create(name, TokenRole.Rm));
        Assert.False(File.Exists(FilePath));
    }

    [Fact]
    public void The_request_rate_allows_the_burst_then_refills_at_the_rate()
    {
        using var store = TokenStore.Open(FilePath, Defaults, _time);
        var token = store.Create("frank", TokenRole.Rm).Token;
        long frequency = _time.TimestampFrequency;
        var now = _time.GetTimestamp();

        for (var i = 0; i < Defaults.Burst; i++)
        {
            Assert.True(token.TryTakeRequest(now, frequency));
        }

        Assert.False(token.TryTakeRequest(now, frequency));
        Assert.False(token.TryTakeRequest(now + (frequency / 20), frequency)); // 50 ms at 10/s: half a request
        Assert.True(token.TryTakeRequest(now + (frequency / 10), frequency)); // 100 ms: one
        Assert.False(token.TryTakeRequest(now + (frequency / 10), frequency));
        for (var i = 0; i < Defaults.Burst; i++)
        {
            Assert.True(token.TryTakeRequest(now + (frequency * 100), frequency)); // a long pause refills only up to the burst
        }

        Assert.False(token.TryTakeRequest(now + (frequency * 100), frequency));
    }

    [Fact]
    public void Queue_and_attachment_quotas_are_all_or_nothing_and_released()
    {
        using var store = TokenStore.Open(FilePath, Defaults, _time);
        var token = store.Create("grace", TokenRole.Rm).Token;

        Assert.True(token.TryReserveQueued(400));
        Assert.True(token.TryReserveQueued(400));
        Assert.False(token.TryReserveQueued(400)); // 1,200 bytes > 1,000
        Assert.Equal(2, token.QueuedMessages);
        Assert.Equal(800, token.QueuedBytes);
        Assert.True(token.TryReserveQueued(1));
        Assert.False(token.TryReserveQueued(1)); // a fourth message > 3
        Assert.Equal(3, token.QueuedMessages);
        token.ReleaseQueued(400);
        Assert.True(token.TryReserveQueued(100));

        Assert.True(token.TryReserveAttachment(500));
        Assert.False(token.TryReserveAttachment(1));
        token.ReleaseAttachment(200);
        Assert.True(token.TryReserveAttachment(200));
        Assert.Equal(500, token.AttachmentBytes);
    }
}
