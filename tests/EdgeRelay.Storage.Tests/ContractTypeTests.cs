namespace EdgeRelay.Storage.Tests;

/// <summary>The value types every backend and every caller trade in.</summary>
public sealed class ContractTypeTests
{
    [Fact]
    public void The_none_ticket_is_the_default_and_sorts_before_every_issued_one()
    {
        Assert.Equal(DurabilityTicket.None, default);
        Assert.True(DurabilityTicket.None.IsNone);
        Assert.False(DurabilityTicket.At(1).IsNone);
        Assert.True(DurabilityTicket.None < DurabilityTicket.At(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => DurabilityTicket.At(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => DurabilityTicket.At(-5));
    }

    [Fact]
    public void Tickets_order_by_position_and_latest_picks_the_later()
    {
        var early = DurabilityTicket.At(64);
        var late = DurabilityTicket.At(4096);

        Assert.True(early < late && late > early && early <= late && late >= early && early != late);
        Assert.Equal(late, DurabilityTicket.Latest(early, late));
        Assert.Equal(late, DurabilityTicket.Latest(late, early));
        Assert.Equal(early, DurabilityTicket.Latest(early, DurabilityTicket.None));
        Assert.Equal(DurabilityTicket.At(64), early);
        Assert.Equal(DurabilityTicket.At(64).GetHashCode(), early.GetHashCode());
    }

    [Fact]
    public void Message_ids_compare_by_value_and_none_sorts_first()
    {
        var a = new MessageId(10);
        var b = new MessageId(20);

        Assert.True(MessageId.None < a && a < b && b > a && a <= new MessageId(10) && b >= a);
        Assert.Equal(b, MessageId.Max(a, b));
        Assert.Equal(b, MessageId.Max(b, a));
        Assert.Equal(new[] { MessageId.None, a, b }, new[] { b, MessageId.None, a }.Order());
        Assert.Equal("10", a.ToString());
    }

    [Fact]
    public void A_message_id_is_one_long_so_spans_of_ids_reinterpret_as_wire_values()
    {
        Assert.Equal(sizeof(long), System.Runtime.CompilerServices.Unsafe.SizeOf<MessageId>());
        MessageId[] ids = [new(5), new(7)];
        Assert.Equal(new long[] { 5, 7 }, System.Runtime.InteropServices.MemoryMarshal.Cast<MessageId, long>(ids).ToArray());
    }

    [Fact]
    public void Limits_copy_onto_a_backend_s_options()
    {
        var source = new StorageLimits { MaxPayloadBytes = 100, MessageTtl = TimeSpan.FromHours(2), MaxPendingMessagesPerAddress = 3, MaxPendingBytesPerAddress = 4 };
        var target = new StorageLimits();

        source.CopyLimitsTo(target);

        Assert.Equal((100, TimeSpan.FromHours(2), 3, 4L), (target.MaxPayloadBytes, target.MessageTtl, target.MaxPendingMessagesPerAddress, target.MaxPendingBytesPerAddress));
    }

    [Fact]
    public void An_address_info_changes_only_into_a_new_instance()
    {
        var info = new AddressInfo(AddressId.NewRandom(), new byte[32], createdAt: 10, expiresAt: 20, revokedAt: 0);

        var revoked = info.WithRevokedAt(15);
        var renewed = info.WithExpiresAt(30);
        var policy = info.WithPolicy(DeliveryPolicy.PullOnly);
        var notify = info.WithNotifyEndpoint("https://example.org/wake");

        Assert.False(info.IsRevoked);
        Assert.Equal((true, 15L), (revoked.IsRevoked, revoked.RevokedAt));
        Assert.Equal(30, renewed.ExpiresAt);
        Assert.Equal(DeliveryPolicy.PullOnly, policy.Policy);
        Assert.Equal("https://example.org/wake", notify.NotifyEndpoint);
        Assert.All(new[] { revoked, renewed, policy, notify }, changed => Assert.NotSame(info, changed));
        Assert.Equal((20L, DeliveryPolicy.Immediate, (string?)null), (info.ExpiresAt, info.Policy, info.NotifyEndpoint));
    }

    [Theory]
    [InlineData(0, 1_767_225_612_345, 1_767_225_612_345)] // no interval: at once
    [InlineData(30_000, 1_767_225_612_345, 1_767_225_630_000)] // within an interval: its end
    [InlineData(30_000, 1_767_225_600_000, 1_767_225_630_000)] // on a boundary: the next one, never the same instant
    [InlineData(30_000, 1_767_225_629_999, 1_767_225_630_000)] // a millisecond before a boundary: that boundary
    [InlineData(3_600_000, 1, 3_600_000)]
    public void A_batched_message_is_released_at_the_first_multiple_of_its_interval_after_its_queue_time(long interval, long queuedAt, long releaseAt)
    {
        var request = new OutboundRequest("rm", "b.test:1", ReadOnlyMemory<byte>.Empty, new byte[73], new byte[] { 1 }, interval);

        Assert.Equal(releaseAt, request.ReleaseAt(queuedAt));
        Assert.InRange(request.ReleaseAt(queuedAt) - queuedAt, interval == 0 ? 0 : 1, interval);
    }

    [Fact]
    public void A_negative_batch_interval_is_refused()
    {
        var request = new OutboundRequest("rm", "b.test:1", ReadOnlyMemory<byte>.Empty, new byte[73], new byte[] { 1 }, -1);

        Assert.Equal("BatchIntervalMs", Assert.Throws<ArgumentException>(request.Validate).ParamName);
    }
}
