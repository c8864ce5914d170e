using System.Diagnostics.CodeAnalysis;

namespace EdgeRelay.RelationshipManager.Envelopes;

/// <summary>An envelope (or ratchet state) refused, with the stable reason in <see cref="Error"/>.</summary>
public sealed class EnvelopeException : Exception
{
    public EnvelopeException(EnvelopeError error, string message)
        : base(message)
    {
        Error = error;
    }

    public EnvelopeException()
        : this(EnvelopeError.Malformed, "Malformed envelope.")
    {
    }

    public EnvelopeException(string message)
        : this(EnvelopeError.Malformed, message)
    {
    }

    public EnvelopeException(string message, Exception innerException)
        : base(message, innerException)
    {
        Error = EnvelopeError.Malformed;
    }

    public EnvelopeError Error { get; }

    [DoesNotReturn]
    internal static void Throw(EnvelopeError error, string message) => throw new EnvelopeException(error, message);
}
