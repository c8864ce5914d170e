using EdgeRelay.Client;

namespace EdgeRelay.Server.Tests;

internal static class Drain
{
    /// <summary>Pulls and acknowledges everything pending for an address; returns each message's first four bytes as an int.</summary>
    public static async Task<List<int>> AllAsync(RelayClient rm, AddressId aid)
    {
        var received = new List<int>();
        while (true)
        {
            var batch = await rm.PullAsync(aid, 1000);
            if (batch.Messages.Count == 0)
            {
                return received;
            }

            received.AddRange(batch.Messages.Select(m => BitConverter.ToInt32(m.Ciphertext.Span)));
            await rm.AckAsync(aid, batch.Messages.Select(m => m.Id).ToArray());
        }
    }
}
