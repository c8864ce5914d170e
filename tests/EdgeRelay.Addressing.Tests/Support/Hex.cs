namespace EdgeRelay.Addressing.Tests.Support;

internal static class Hex
{
    public static string Of(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);
}
