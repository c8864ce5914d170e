using EdgeRelay.Client;
using EdgeRelay.Protocol;

namespace EdgeRelay.Server.Tests;

/// <summary>What STATUS says about attachments: the largest one, the headroom under the budget, and degraded near it.</summary>
public sealed class AttachmentStatusTests
{
    [Fact]
    public async Task Status_reports_the_largest_attachment_and_the_headroom_left_by_stored_and_reserved_bytes()
    {
        await using var relay = await AttachmentRelay.StartAsync(o => (o.Attachments.MaxBytes, o.Attachments.MaxDiskBytes) = (10_000, 100_000));
        await using var rm = await relay.ConnectRmAsync();
        await rm.UploadAttachmentAsync(AttachmentRelay.Content(10_000));
        await rm.BeginUploadAsync(5_000, new byte[32]);

        var status = await rm.GetStatusAsync();

        Assert.Equal(10_000UL, status.MaxAttachment);
        Assert.Equal(85_000UL, status.AttachmentHeadroom);
        Assert.Equal(Availability.Accepting, status.Availability);
    }

    [Fact]
    public async Task Within_five_percent_of_the_attachment_budget_the_relay_is_degraded_and_says_why()
    {
        await using var relay = await AttachmentRelay.StartAsync(o => (o.Attachments.MaxBytes, o.Attachments.MaxDiskBytes) = (10_000, 10_000));
        await using var rm = await relay.ConnectRmAsync();
        await rm.BeginUploadAsync(9_501, new byte[32]);

        var status = await rm.GetStatusAsync();

        Assert.Equal(499UL, status.AttachmentHeadroom);
        Assert.Equal(Availability.Degraded, status.Availability);
        Assert.Contains("attachment", status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_budget_the_headroom_is_unlimited_and_without_the_sending_role_there_are_no_attachments()
    {
        await using (var unlimited = await AttachmentRelay.StartAsync(o => o.Attachments.MaxDiskBytes = 0))
        await using (var client = await unlimited.Relay.ConnectAsync())
        {
            Assert.Equal(RelayStatus.Unlimited, (await client.GetStatusAsync()).AttachmentHeadroom);
        }

        await using var receivingOnly = await AttachmentRelay.StartAsync(o => o.Roles.Sending = false);
        await using var other = await receivingOnly.Relay.ConnectAsync();
        var status = await other.GetStatusAsync();
        Assert.Equal((0UL, 0UL), (status.MaxAttachment, status.AttachmentHeadroom));
        Assert.Equal(ErrorCode.UnknownCommand, (await Assert.ThrowsAsync<RelayException>(() => other.BeginUploadAsync(10, new byte[32]))).Code);
    }
}
