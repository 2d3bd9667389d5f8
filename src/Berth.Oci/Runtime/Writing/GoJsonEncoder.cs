using System.Text;
using System.Text.Encodings.Web;

namespace Berth.Oci.Runtime.Writing;

/// <summary>
/// The escaping of Go's encoding/json (what runc writes): quote, backslash, control characters,
/// the HTML-sensitive &lt; &gt; &amp;, and U+2028/U+2029 become \uXXXX (or \" \\ \n ...);
/// everything else, non-ASCII included, stays as UTF-8.
/// </summary>
/// <remarks>
/// Utf8JsonWriter's default encoder (JavaScriptEncoder.Default) builds its tables of allowed
/// characters in its static constructor: about 0.2 ms, a tenth of what a short-lived
/// `berth-runtime state` costs. This one decides per character, with nothing to build.
/// </remarks>
public sealed class GoJsonEncoder : JavaScriptEncoder
{
    public static readonly GoJsonEncoder Instance = new();

    private GoJsonEncoder() { }

    public override int MaxOutputCharactersPerInputCharacter => 12; // a surrogate pair as two \uXXXX

    public override bool WillEncode(int unicodeScalar) =>
        unicodeScalar < 0x20 || unicodeScalar is '"' or '\\' or '<' or '>' or '&' or 0x2028 or 0x2029;

    public override unsafe int FindFirstCharacterToEncode(char* text, int textLength)
    {
        for (int i = 0; i < textLength; i++)
        {
            char c = text[i];
            if (char.IsSurrogate(c))
            {
                // A lone surrogate has no UTF-8 form: it is escaped (the writer then refuses it).
                if (char.IsHighSurrogate(c) && i + 1 < textLength && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
                return i;
            }
            if (WillEncode(c)) return i;
        }
        return -1;
    }

    public override int FindFirstCharacterToEncodeUtf8(ReadOnlySpan<byte> utf8Text)
    {
        int i = 0;
        while (i < utf8Text.Length)
        {
            byte b = utf8Text[i];
            if (b < 0x80)
            {
                if (WillEncode(b)) return i;
                i++;
                continue;
            }
            if (Rune.DecodeFromUtf8(utf8Text[i..], out Rune r, out int used) != System.Buffers.OperationStatus.Done || WillEncode(r.Value))
                return i;
            i += used;
        }
        return -1;
    }

    public override unsafe bool TryEncodeUnicodeScalar(int unicodeScalar, char* buffer, int bufferLength, out int numberOfCharactersWritten)
    {
        numberOfCharactersWritten = 0;
        if (!WillEncode(unicodeScalar))
        {
            var rune = new Rune(unicodeScalar);
            if (bufferLength < rune.Utf16SequenceLength) return false;
            numberOfCharactersWritten = rune.EncodeToUtf16(new Span<char>(buffer, bufferLength));
            return true;
        }
        string? shortForm = unicodeScalar switch
        {
            '"' => "\\\"", '\\' => "\\\\", '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", '\b' => "\\b", '\f' => "\\f",
            _ => null,
        };
        if (shortForm is not null)
        {
            if (bufferLength < 2) return false;
            buffer[0] = shortForm[0];
            buffer[1] = shortForm[1];
            numberOfCharactersWritten = 2;
            return true;
        }
        if (bufferLength < 6) return false;
        const string hex = "0123456789abcdef";
        buffer[0] = '\\';
        buffer[1] = 'u';
        buffer[2] = hex[(unicodeScalar >> 12) & 0xf];
        buffer[3] = hex[(unicodeScalar >> 8) & 0xf];
        buffer[4] = hex[(unicodeScalar >> 4) & 0xf];
        buffer[5] = hex[unicodeScalar & 0xf];
        numberOfCharactersWritten = 6;
        return true;
    }
}
