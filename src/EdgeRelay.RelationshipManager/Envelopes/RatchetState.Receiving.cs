using System.Security.Cryptography;

namespace EdgeRelay.RelationshipManager.Envelopes;

// Receiving in two steps, so that a message that does not open or verify changes nothing: Prepare
// computes the message key (and the keys it would skip) on copies; Commit applies them.
public sealed partial class RatchetState
{
    /// <summary>The message key of number <paramref name="n"/>, without changing the state.</summary>
    /// <exception cref="EnvelopeException">Replay (below the next expected and no key kept) or TooManySkipped.</exception>
    internal ReceiveStep PrepareReceive(uint n)
    {
        if (n < ReceiveNext)
        {
            if (!Skipped.TryGetValue(n, out var kept))
            {
                EnvelopeException.Throw(EnvelopeError.Replay, $"Message {n} was already received (or its key was dropped).");
            }

            return new ReceiveStep(n, kept.AsSpan(), fromSkipped: true);
        }

        if (n == uint.MaxValue)
        {
            // No sender seals it (ChainExhausted), and ReceiveNext could not go past it.
            EnvelopeException.Throw(EnvelopeError.Malformed, "Message number 2^32 - 1 is never sealed.");
        }

        if (n - ReceiveNext > MaxSkipPerMessage)
        {
            EnvelopeException.Throw(EnvelopeError.TooManySkipped, $"Message {n} would skip {n - ReceiveNext} (at most {MaxSkipPerMessage}).");
        }

        var step = new ReceiveStep(n, [], fromSkipped: false);
        ReceiveChainKey.CopyTo(step.NextChainKey);
        for (var skipped = ReceiveNext; skipped < n; skipped++)
        {
            var messageKey = new byte[Chain.KeyLength];
            Chain.Step(step.NextChainKey, messageKey, step.NextChainKey);
            step.NewSkipped.Add((skipped, messageKey));
        }

        Chain.Step(step.NextChainKey, step.MessageKey, step.NextChainKey);
        return step;
    }

    /// <summary>Applies a step whose message opened and verified.</summary>
    internal void CommitReceive(ReceiveStep step)
    {
        if (step.FromSkipped)
        {
            CryptographicOperations.ZeroMemory(Skipped[step.Number]);
            Skipped.Remove(step.Number);
            return;
        }

        foreach (var (n, messageKey) in step.NewSkipped)
        {
            Skipped.Add(n, messageKey);
        }

        step.NewSkipped.Clear(); // the state owns those keys now
        while (Skipped.Count > MaxSkipped)
        {
            CryptographicOperations.ZeroMemory(Skipped.Values[0]);
            Skipped.RemoveAt(0);
        }

        step.NextChainKey.CopyTo(ReceiveChainKey);
        ReceiveNext = step.Number + 1;
    }

    /// <summary>What receiving one message would change; zeroed on dispose.</summary>
    internal sealed class ReceiveStep : IDisposable
    {
        public ReceiveStep(uint number, ReadOnlySpan<byte> keptMessageKey, bool fromSkipped)
        {
            Number = number;
            FromSkipped = fromSkipped;
            keptMessageKey.CopyTo(MessageKey);
        }

        public uint Number { get; }

        /// <summary>The key came from the skipped keys: committing removes it, the chain stays.</summary>
        public bool FromSkipped { get; }

        public byte[] MessageKey { get; } = new byte[Chain.KeyLength];

        public byte[] NextChainKey { get; } = new byte[Chain.KeyLength];

        public List<(uint Number, byte[] MessageKey)> NewSkipped { get; } = [];

        public void Dispose()
        {
            CryptographicOperations.ZeroMemory(MessageKey);
            CryptographicOperations.ZeroMemory(NextChainKey);
            foreach (var (_, messageKey) in NewSkipped)
            {
                CryptographicOperations.ZeroMemory(messageKey);
            }
        }
    }
}
