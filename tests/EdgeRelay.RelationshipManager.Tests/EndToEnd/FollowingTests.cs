using System.Threading.Channels;

namespace EdgeRelay.RelationshipManager.Tests.EndToEnd;

/// <summary>A following inbox: messages pushed as they arrive, through relay restarts, and nothing shown twice.</summary>
public sealed class FollowingTests
{
    [Fact]
    public async Task A_following_inbox_receives_across_a_relay_restart_and_shows_each_message_once()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", relay);
        await using var bob = await Person.InitializeAsync("bob", relay);
        await ConversationTests.Introduce(alice, bob);
        await using var inbox = Follow(alice);

        await bob.Rm.SendAsync(bob.Contact("alice"), "before the restart");
        Assert.Equal("before the restart", (await inbox.NextMessageAsync()).Text);

        await relay.RestartAsync();
        await inbox.ConnectedAgainAsync();
        await bob.Rm.SendAsync(bob.Contact("alice"), "after the restart");

        Assert.Equal("after the restart", (await inbox.NextMessageAsync()).Text);
        Assert.Equal(2, inbox.Messages.Count);
    }

    [Fact]
    public async Task A_following_inbox_picks_up_a_relationship_made_while_it_runs()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", relay);
        await using var bob = await Person.InitializeAsync("bob", relay);
        await using var inbox = Follow(alice);

        // The invitation's address is created after the inbox started: it must be subscribed on the fly.
        var invitation = await alice.Rm.CreateInvitationAsync();
        await bob.Rm.AcceptInvitationAsync(invitation);

        var established = await inbox.NextAsync<ContactEstablished>();
        Assert.Equal("bob", established.Contact.Name);
        await bob.Rm.ReceiveAsync();
        await bob.Rm.SendAsync(bob.Contact("alice"), "found you");
        Assert.Equal("found you", (await inbox.NextMessageAsync()).Text);
    }

    internal static Inbox Follow(Person person) => new(person.Rm);

    /// <summary>Runs FollowAsync in the background and lets a test wait for what it yields.</summary>
    internal sealed class Inbox : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Channel<RmEvent> _events = Channel.CreateUnbounded<RmEvent>();
        private readonly Task _run;

        public Inbox(RelationshipManager rm)
        {
            _run = Task.Run(async () =>
            {
                try
                {
                    await foreach (var e in rm.FollowAsync(_stop.Token))
                    {
                        if (e is MessageReceived m)
                        {
                            Messages.Enqueue(m);
                        }

                        _events.Writer.TryWrite(e);
                    }
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                }
                finally
                {
                    _events.Writer.TryComplete();
                }
            });
        }

        public System.Collections.Concurrent.ConcurrentQueue<MessageReceived> Messages { get; } = new();

        public Task<MessageReceived> NextMessageAsync() => NextAsync<MessageReceived>();

        /// <summary>The next event of type <typeparamref name="T"/>, skipping others (connection changes, receipts).</summary>
        public async Task<T> NextAsync<T>()
            where T : RmEvent
        {
            using var deadline = new CancellationTokenSource(Eventually.DefaultDeadline);
            while (true)
            {
                var e = await _events.Reader.ReadAsync(deadline.Token);
                if (e is T wanted)
                {
                    return wanted;
                }
            }
        }

        /// <summary>Waits for the connection to drop, then to come back.</summary>
        public async Task ConnectedAgainAsync()
        {
            while ((await NextAsync<ConnectionChanged>()).Connected)
            {
            }

            while (!(await NextAsync<ConnectionChanged>()).Connected)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _run;
            _stop.Dispose();
        }
    }
}
