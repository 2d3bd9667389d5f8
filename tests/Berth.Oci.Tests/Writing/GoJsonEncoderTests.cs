using System.Buffers;
using System.Text;
using System.Text.Json;
using Berth.Oci.Runtime.Writing;

namespace Berth.Oci.Tests.Writing;

/// <summary>GoJsonEncoder escapes what Go's encoding/json escapes, and the text reads back the same.</summary>
public class GoJsonEncoderTests
{
    private const string Tricky = "a\"b\\c\n\r\t\b\f<&>é€😀\u2028\u2029\u0001\u001f+'`/";
    private const string Escaped = "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u003c\\u0026\\u003eé€😀\\u2028\\u2029\\u0001\\u001f+'`/\"";

    private static string Write(Action<Utf8JsonWriter> write)
    {
        var buf = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buf, new JsonWriterOptions { Encoder = GoJsonEncoder.Instance })) write(w);
        return Encoding.UTF8.GetString(buf.WrittenSpan);
    }

    [Fact]
    public void A_string_from_UTF16_is_escaped_as_Go_does()
    {
        Assert.Equal(Escaped, Write(w => w.WriteStringValue(Tricky)));
    }

    [Fact]
    public void A_string_from_UTF8_is_escaped_as_Go_does()
    {
        Assert.Equal(Escaped, Write(w => w.WriteStringValue(Encoding.UTF8.GetBytes(Tricky))));
    }

    [Fact]
    public void Property_names_are_escaped_too_and_everything_reads_back()
    {
        string json = Write(w =>
        {
            w.WriteStartObject();
            w.WriteString(Tricky, Tricky);
            w.WriteString("plain", "ascii only");
            w.WriteEndObject();
        });
        using var doc = JsonDocument.Parse(json);
        Assert.Equal(Tricky, doc.RootElement.GetProperty(Tricky).GetString());
        Assert.Equal("ascii only", doc.RootElement.GetProperty("plain").GetString());
        Assert.Contains("\"plain\":\"ascii only\"", json);
    }

    [Fact]
    public void Long_strings_with_escapes_past_the_first_buffer_are_whole()
    {
        string s = string.Concat(Enumerable.Repeat("x<é\"", 5000));
        string json = Write(w => w.WriteStringValue(s));
        Assert.Equal(s, JsonDocument.Parse(json).RootElement.GetString());
        Assert.DoesNotContain("<", json);
    }
}
