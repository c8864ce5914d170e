using EdgeRelay.Client;
using EdgeRelay.Server.Access;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>ATTACHMENT_STORED means durable, and UPLOAD_RESUME's count too: proved by killing the real executable with SIGKILL.</summary>
public sealed class AttachmentDurabilityTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private string _secret = "";

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task After_sigkill_a_stored_attachment_is_served_and_an_upload_resumes_from_its_last_durable_count_and_no_further()
    {
        using (var tokens = TokenStore.Open(Path.Combine(_temp.Path, "tokens.json"), new AccessOptions().DefaultLimits, TimeProvider.System))
        {
            _secret = tokens.Create("rm", TokenRole.Rm).Secret;
        }

        var stored = AttachmentRelay.Content(150_000, seed: 1);
        var partial = AttachmentRelay.Content(150_000, seed: 2);
        AttachmentUploaded committed;
        UploadId upload;
        int chunk;
        await using (var server = await ServerProcess.StartAsync(_temp.Path))
        {
            await using var rm = await ConnectAsync(server);
            committed = await rm.UploadAttachmentAsync(stored);
            chunk = rm.MaxUploadChunk;
            upload = (await rm.BeginUploadAsync(partial.Length, AttachmentRelay.Sha256(partial))).Upload;
            await rm.UploadChunkAsync(upload, 0, partial.AsMemory(0, chunk));
            await rm.UploadChunkAsync(upload, chunk, partial.AsMemory(chunk, chunk));
            Assert.Equal(2L * chunk, (await rm.ResumeUploadAsync(upload)).Received);
            await rm.UploadChunkAsync(upload, 2L * chunk, partial.AsMemory(2 * chunk, chunk)); // received, not made durable
            await server.KillAsync();
        }

        await using (var server = await ServerProcess.StartAsync(_temp.Path))
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://{server.HttpEndPoint}") };
            Assert.Equal(stored, await http.GetByteArrayAsync(committed.Uri.AbsolutePath));

            await using var rm = await ConnectAsync(server);
            Assert.Equal(2L * chunk, (await rm.ResumeUploadAsync(upload)).Received);
            var finished = await rm.UploadAttachmentAsync(partial, resume: upload);
            Assert.Equal(partial, await http.GetByteArrayAsync(finished.Uri.AbsolutePath));
            Assert.Equal(2, Directory.GetFiles(Path.Combine(_temp.Path, "attachments", "blobs"), "*.blob").Length);
            Assert.Empty(Directory.GetFiles(Path.Combine(_temp.Path, "attachments", "tmp")));
        }
    }

    private async Task<RelayClient> ConnectAsync(ServerProcess server)
    {
        var client = await RelayClient.ConnectAsync(server.RelayEndPoint);
        await client.AuthenticateTokenAsync(_secret);
        return client;
    }
}
