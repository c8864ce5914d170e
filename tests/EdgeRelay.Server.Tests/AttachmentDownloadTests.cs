using System.Net;
using System.Net.Http.Headers;

namespace EdgeRelay.Server.Tests;

/// <summary><c>GET</c> and <c>HEAD /a/{id}</c> through a real HttpClient: whole, by range, conditional, and the same 404 for every miss.</summary>
public sealed class AttachmentDownloadTests
{
    [Fact]
    public async Task A_whole_download_carries_the_bytes_a_strong_etag_and_the_caching_headers()
    {
        await using var relay = await AttachmentRelay.StartAsync();
        await using var rm = await relay.ConnectRmAsync();
        var content = AttachmentRelay.Content(50_000);
        var stored = await rm.UploadAttachmentAsync(content);

        using var response = await relay.Http.GetAsync(stored.Uri);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(content, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(new EntityTagHeaderValue("\"" + Convert.ToHexStringLower(AttachmentRelay.Sha256(content)) + "\""), response.Headers.ETag);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(50_000, response.Content.Headers.ContentLength);
        Assert.Equal("bytes", Assert.Single(response.Headers.AcceptRanges));
        Assert.True(response.Headers.CacheControl!.Private);
        Assert.InRange(response.Headers.CacheControl.MaxAge!.Value, relay.Server.Options.Attachments.Expiry - TimeSpan.FromMinutes(1), relay.Server.Options.Attachments.Expiry);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
    }

    [Fact]
    public async Task A_range_gets_206_with_exactly_those_bytes_and_an_unsatisfiable_one_416()
    {
        await using var relay = await AttachmentRelay.StartAsync();
        await using var rm = await relay.ConnectRmAsync();
        var content = AttachmentRelay.Content(10_000);
        var stored = await rm.UploadAttachmentAsync(content);

        using var middle = await Get(relay, stored.Uri, r => r.Headers.Range = new RangeHeaderValue(1000, 1999));
        using var tail = await Get(relay, stored.Uri, r => r.Headers.Range = new RangeHeaderValue(null, 100));
        using var beyond = await Get(relay, stored.Uri, r => r.Headers.Range = new RangeHeaderValue(10_000, null));

        Assert.Equal(HttpStatusCode.PartialContent, middle.StatusCode);
        Assert.Equal(content[1000..2000], await middle.Content.ReadAsByteArrayAsync());
        Assert.Equal(new ContentRangeHeaderValue(1000, 1999, 10_000), middle.Content.Headers.ContentRange);
        Assert.Equal(HttpStatusCode.PartialContent, tail.StatusCode);
        Assert.Equal(content[^100..], await tail.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, beyond.StatusCode);
        Assert.Equal(10_000, beyond.Content.Headers.ContentRange!.Length);
    }

    [Fact]
    public async Task Conditional_requests_answer_304_for_the_current_etag_and_if_range_falls_back_to_the_whole()
    {
        await using var relay = await AttachmentRelay.StartAsync();
        await using var rm = await relay.ConnectRmAsync();
        var content = AttachmentRelay.Content(4000);
        var stored = await rm.UploadAttachmentAsync(content);
        var etag = (await relay.Http.GetAsync(stored.Uri)).Headers.ETag!;

        using var unchanged = await Get(relay, stored.Uri, r => r.Headers.IfNoneMatch.Add(etag));
        using var changed = await Get(relay, stored.Uri, r => r.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"other\"")));
        using var sameRange = await Get(relay, stored.Uri, r => (r.Headers.Range, r.Headers.IfRange) = (new RangeHeaderValue(0, 9), new RangeConditionHeaderValue(etag)));
        using var staleRange = await Get(relay, stored.Uri, r => (r.Headers.Range, r.Headers.IfRange) = (new RangeHeaderValue(0, 9), new RangeConditionHeaderValue(new EntityTagHeaderValue("\"other\""))));

        Assert.Equal(HttpStatusCode.NotModified, unchanged.StatusCode);
        Assert.Empty(await unchanged.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.Equal(HttpStatusCode.PartialContent, sameRange.StatusCode);
        Assert.Equal(content[..10], await sameRange.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.OK, staleRange.StatusCode);
        Assert.Equal(content, await staleRange.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Several_ranges_get_the_whole_body_and_other_methods_405()
    {
        await using var relay = await AttachmentRelay.StartAsync();
        await using var rm = await relay.ConnectRmAsync();
        var content = AttachmentRelay.Content(1000);
        var stored = await rm.UploadAttachmentAsync(content);
        var ranges = new RangeHeaderValue();
        ranges.Ranges.Add(new RangeItemHeaderValue(0, 9));
        ranges.Ranges.Add(new RangeItemHeaderValue(100, 109));

        using var several = await Get(relay, stored.Uri, r => r.Headers.Range = ranges);
        using var post = await relay.Http.PostAsync(stored.Uri, new ByteArrayContent([1]));
        using var delete = await relay.Http.DeleteAsync(stored.Uri);

        Assert.Equal(HttpStatusCode.OK, several.StatusCode);
        Assert.Equal(content, await several.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, delete.StatusCode);
        Assert.Equal(content, await relay.Http.GetByteArrayAsync(stored.Uri));
    }

    [Fact]
    public async Task Head_answers_the_headers_of_a_get_without_the_body()
    {
        await using var relay = await AttachmentRelay.StartAsync();
        await using var rm = await relay.ConnectRmAsync();
        var stored = await rm.UploadAttachmentAsync(AttachmentRelay.Content(3000));

        using var head = await relay.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, stored.Uri));

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(3000, head.Content.Headers.ContentLength);
        Assert.NotNull(head.Headers.ETag);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task An_attachment_is_served_until_its_expiry_and_is_404_after()
    {
        await using var relay = await AttachmentRelay.StartAsync(fakeClock: true);
        await using var rm = await relay.ConnectRmAsync();
        var stored = await rm.UploadAttachmentAsync(AttachmentRelay.Content(1000));
        Assert.Equal(relay.Clock!.GetUtcNow() + relay.Server.Options.Attachments.Expiry, stored.ExpiresAt);

        relay.Clock.Advance(relay.Server.Options.Attachments.Expiry - TimeSpan.FromSeconds(1));
        using var before = await relay.Http.GetAsync(stored.Uri);
        relay.Clock.Advance(TimeSpan.FromSeconds(1));
        using var after = await relay.Http.GetAsync(stored.Uri);

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
        relay.Clock.Advance(relay.Server.Options.Attachments.SweepInterval);
        Assert.Equal(0, relay.Server.Attachments.UsedBytes);
        Assert.Empty(Directory.GetFiles(Path.Combine(relay.Relay.DataDir, "attachments"), "*", SearchOption.AllDirectories));
    }

    [Theory]
    [InlineData("/a/AAAAAAAAAAAAAAAAAAAAAA")] // well formed, never issued
    [InlineData("/a/AAAAAAAAAAAAAAAAAAAAAB")] // not the canonical spelling of any id
    [InlineData("/a/short")]
    [InlineData("/a/..%2Fservice.key")]
    public async Task Every_miss_is_the_same_bare_404(string path)
    {
        await using var relay = await AttachmentRelay.StartAsync();

        using var response = await relay.Http.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        Assert.Null(response.Headers.ETag);
    }

    [Fact]
    public async Task An_upload_in_progress_is_never_served()
    {
        await using var relay = await AttachmentRelay.StartAsync();
        await using var rm = await relay.ConnectRmAsync();
        var content = AttachmentRelay.Content(100);
        var started = await rm.BeginUploadAsync(100, AttachmentRelay.Sha256(content));
        await rm.UploadChunkAsync(started.Upload, 0, content);

        // Neither the upload id nor anything derived from it names a URL; and no attachment exists yet.
        Span<byte> bytes = stackalloc byte[16];
        started.Upload.Write(bytes);
        using var response = await relay.Http.GetAsync("/a/" + AttachmentId.Read(bytes));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(0, relay.Server.Attachments.GetStatistics().Attachments);
    }

    private static async Task<HttpResponseMessage> Get(AttachmentRelay relay, Uri uri, Action<HttpRequestMessage> configure)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        configure(request);
        return await relay.Http.SendAsync(request);
    }
}
