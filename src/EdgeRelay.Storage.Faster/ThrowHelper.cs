using System.Diagnostics.CodeAnalysis;

namespace EdgeRelay.Storage.Faster;

/// <summary>Throw sites kept out of the hot methods so those stay small enough to inline well.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ThrowDisposed() => throw new ObjectDisposedException(nameof(FasterStorage));

    [DoesNotReturn]
    public static void ThrowAddressExists(AddressId aid) =>
        throw new InvalidOperationException($"Address {aid} already exists.");

    [DoesNotReturn]
    public static void ThrowStorageFailed(Exception inner) =>
        throw new IOException("The relay log failed; the store accepts no more writes until it is reopened on a repaired device.", inner);

    [DoesNotReturn]
    public static void ThrowNotAMessage(long messageId) =>
        throw new ArgumentException($"Log address {messageId} is not the id of a message.", nameof(messageId));
}
