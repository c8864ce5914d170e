using System.Security.Cryptography;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Tests;

public sealed class SafetyNumberTests
{
    private static PublicIdentity Identity(byte fill) =>
        new(Enumerable.Repeat(fill, 32).ToArray(), Enumerable.Repeat((byte)(fill + 1), 32).ToArray());

    [Fact]
    public void Both_sides_compute_the_same_number()
    {
        var alice = Identity(1);
        var bob = Identity(7);

        Assert.Equal(SafetyNumber.Compute(alice, bob), SafetyNumber.Compute(bob, alice));
    }

    [Fact]
    public void The_number_is_twelve_groups_of_five_digits_from_the_sorted_identities()
    {
        var alice = Identity(1);
        var bob = Identity(7);
        // The specification's derivation written out independently: SHA-512 over the context and both
        // identities in ascending order, each 5-byte group read as an integer modulo 100000.
        var digest = SHA512.HashData([.. "EdgeRelay-RM-v1 safety number"u8, .. alice.Bytes, .. bob.Bytes]);
        var groups = Enumerable.Range(0, 12).Select(i =>
        {
            ulong value = 0;
            for (int b = 0; b < 5; b++)
            {
                value = (value << 8) | digest[(5 * i) + b];
            }

            return (value % 100000).ToString("D5", System.Globalization.CultureInfo.InvariantCulture);
        });

        var number = SafetyNumber.Compute(bob, alice);

        Assert.Equal(string.Join(' ', groups), number);
        Assert.Equal(71, number.Length);
    }

    [Fact]
    public void A_different_key_changes_the_number()
    {
        var alice = Identity(1);
        var bob = Identity(7);
        var mallory = new PublicIdentity(bob.SigningKey, Enumerable.Repeat((byte)9, 32).ToArray());

        Assert.NotEqual(SafetyNumber.Compute(alice, bob), SafetyNumber.Compute(alice, mallory));
    }

    [Theory]
    [InlineData("12345 67890", "1234567890", true)]
    [InlineData("12345 67890", "12345-67890", true)]
    [InlineData("12345 67890", "12345 67891", false)]
    [InlineData("12345 67890", "12345", false)]
    public void A_spoken_number_matches_on_its_digits_alone(string expected, string spoken, bool matches) =>
        Assert.Equal(matches, SafetyNumber.Matches(expected, spoken));
}
