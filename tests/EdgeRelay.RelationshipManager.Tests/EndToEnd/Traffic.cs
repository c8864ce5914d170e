using EdgeRelay.Server.Access;

namespace EdgeRelay.RelationshipManager.Tests.EndToEnd;

/// <summary>What several people with several services need in a test: settling the traffic between them, and reading what each was shown.</summary>
internal static class Traffic
{
    /// <summary>An RM token of <paramref name="relay"/>, to use it as a sending service.</summary>
    public static string Token(LoopbackRelay relay, string name) => relay.Host.Server.Tokens.Create(name, TokenRole.Rm).Secret;

    /// <summary>
    /// Receives for everyone until a whole round brings nothing: an update answered by an update, a message by
    /// its receipt. Direct sends only (a sending service forwards on its own time: wait for that with Eventually).
    /// </summary>
    public static async Task<List<RmEvent>> SettleAsync(params Person[] people)
    {
        var all = new List<RmEvent>();
        for (var round = 0; round < 10; round++)
        {
            var quiet = true;
            foreach (var person in people)
            {
                var events = await person.Rm.ReceiveAsync();
                all.AddRange(events);
                quiet &= events.All(e => e is ConnectionChanged);
            }

            if (quiet)
            {
                return all;
            }
        }

        throw new InvalidOperationException("The traffic did not settle in 10 rounds.");
    }

    /// <summary>An invitation accepted and both sides established, however many services each has.</summary>
    public static async Task IntroduceAsync(Person inviter, Person acceptor)
    {
        await acceptor.Rm.AcceptInvitationAsync(await inviter.Rm.CreateInvitationAsync());
        await Eventually.TrueAsync(
            async () =>
            {
                await SettleAsync(inviter, acceptor);
                return inviter.Rm.GetContacts().Any(c => c.Name == acceptor.Name && c.State == RelationshipState.Established)
                    && acceptor.Contact(inviter.Name).State == RelationshipState.Established;
            },
            $"{inviter.Name} and {acceptor.Name} to be established");
    }

    /// <summary>The texts <paramref name="person"/> received from <paramref name="contact"/>, oldest first, as stored (so as shown).</summary>
    public static List<string> Received(Person person, string contact) =>
        [.. person.Rm.GetMessages(person.Contact(contact), int.MaxValue).Where(m => !m.Outgoing).Select(m => m.Text)];
}
