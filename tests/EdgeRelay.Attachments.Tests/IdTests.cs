namespace EdgeRelay.Attachments.Tests;

public sealed class IdTests
{
    [Fact]
    public void An_attachment_id_is_22_url_safe_characters_that_parse_back()
    {
        var id = AttachmentId.NewRandom();
        var text = id.ToString();

        Assert.Equal(AttachmentId.TextLength, text.Length);
        Assert.Matches("^[A-Za-z0-9_-]{22}$", text);
        Assert.True(AttachmentId.TryParse(text, out var parsed));
        Assert.Equal(id, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAA")] // 21 characters
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAA")] // 23
    [InlineData("AAAAAAAAAAAAAAAAAAAAA+")] // not base64url
    [InlineData("AAAAAAAAAAAAAAAAAAAAAB")] // stray low bits: a second spelling of the same bytes
    [InlineData("../AAAAAAAAAAAAAAAAAAA")]
    public void Anything_but_the_canonical_text_form_is_not_an_attachment_id(string text) =>
        Assert.False(AttachmentId.TryParse(text, out _));

    [Fact]
    public void Ids_are_not_repeated()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => AttachmentId.NewRandom()).ToHashSet();

        Assert.Equal(1000, ids.Count);
    }

    [Fact]
    public void An_upload_id_names_its_files_in_lower_case_hex_only()
    {
        var id = UploadId.NewRandom();

        Assert.True(UploadId.TryParse(id.ToString(), out var parsed));
        Assert.Equal(id, parsed);
        Assert.True(UploadId.TryParse(new string('a', 32), out _));
        Assert.False(UploadId.TryParse(new string('A', 32), out _));
        Assert.False(UploadId.TryParse(id.ToString().AsSpan(1), out _));
    }
}
