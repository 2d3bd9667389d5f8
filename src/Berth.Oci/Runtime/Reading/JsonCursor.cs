using System.Text;
using System.Text.Json;

namespace Berth.Oci.Runtime.Reading;

/// <summary>
/// A Utf8JsonReader that knows the path of the value it stands on, for the hand-written OCI
/// readers. They exist for cold-start cost: JsonSerializer builds its metadata (property infos,
/// converters, generic instantiations) at run time on its first call, 3-5 ms of a short-lived
/// berth-runtime process, while Utf8JsonReader needs none. The rules are the ones OciJsonContext
/// reads with: comments skipped, trailing commas allowed, unknown properties ignored, names
/// case-sensitive, JSON null gives null, numbers only as JSON numbers that fit the type.
/// A type error is a JsonException whose Path and LineNumber have STJ's meaning
/// ($.process.args[0], zero-based line), so callers describe it as they describe STJ's.
/// </summary>
public ref struct JsonCursor
{
    public static readonly JsonReaderOptions Options = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Reads one element of a list or one value of a map, the cursor on its first token.</summary>
    public delegate T Element<T>(ref JsonCursor c);

    private Utf8JsonReader _r;
    private readonly ReadOnlySpan<byte> _json;
    private readonly JsonPath _path;

    private JsonCursor(ReadOnlySpan<byte> json)
    {
        _json = json;
        _r = new Utf8JsonReader(json, Options);
        _path = new JsonPath();
    }

    /// <summary>Reads a whole document: exactly one value (comments and whitespace around it allowed).</summary>
    public static T ReadDocument<T>(ReadOnlySpan<byte> json, Element<T> root)
    {
        var c = new JsonCursor(json);
        try
        {
            c.Advance();
            T value = root(ref c);
            c.Advance(); // the reader throws on anything but whitespace and comments after the value
            return value;
        }
        catch (FieldException) { throw; }
        catch (JsonException e)
        {
            // The reader's own error (malformed JSON): its message ends in its position, which the
            // exception carries anyway; add where in the document it happened.
            string msg = e.Message;
            int cut = msg.IndexOf(" LineNumber:", StringComparison.Ordinal);
            if (cut > 0) msg = msg[..cut];
            throw new FieldException(msg, c._path.ToString(), e.LineNumber, e.BytePositionInLine, e);
        }
        catch (InvalidOperationException e)
        {
            // GetString on a string that is not valid UTF-8 (STJ turns this into a JsonException too).
            throw c.Error(e.Message, e);
        }
    }

    public readonly JsonTokenType TokenType => _r.TokenType;

    private void Advance() => _r.Read();

    /// <summary>On StartObject: true, and the properties follow; on null: false; otherwise a type error.</summary>
    public bool StartObject(string what)
    {
        if (_r.TokenType == JsonTokenType.Null) return false;
        if (_r.TokenType != JsonTokenType.StartObject) throw Mismatch(what);
        _path.PushProperty();
        return true;
    }

    /// <summary>The next property's name, the cursor on its value; false at the end of the object.</summary>
    public bool NextProperty(out string name)
    {
        _path.SetProperty(null);
        _r.Read();
        if (_r.TokenType == JsonTokenType.EndObject)
        {
            _path.Pop();
            name = "";
            return false;
        }
        name = _r.GetString()!;
        _path.SetProperty(name);
        _r.Read();
        return true;
    }

    /// <summary>Passes over a value nobody reads (an unknown property).</summary>
    public void Skip() => _r.Skip();

    public readonly string? String() => _r.TokenType switch
    {
        JsonTokenType.String => _r.GetString(),
        JsonTokenType.Null => null,
        _ => throw Mismatch("a string"),
    };

    public readonly bool Bool() => _r.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        _ => throw Mismatch("true or false"),
    };

    public readonly bool? BoolOrNull() => _r.TokenType == JsonTokenType.Null ? null : Bool();

    public readonly int Int32() =>
        _r.TokenType == JsonTokenType.Number && _r.TryGetInt32(out int v) ? v : throw Mismatch("a 32-bit integer");

    public readonly int? Int32OrNull() => _r.TokenType == JsonTokenType.Null ? null : Int32();

    public readonly long Int64() =>
        _r.TokenType == JsonTokenType.Number && _r.TryGetInt64(out long v) ? v : throw Mismatch("a 64-bit integer");

    public readonly long? Int64OrNull() => _r.TokenType == JsonTokenType.Null ? null : Int64();

    public readonly ushort UInt16() =>
        _r.TokenType == JsonTokenType.Number && _r.TryGetUInt16(out ushort v) ? v : throw Mismatch("an unsigned 16-bit integer");

    public readonly ushort? UInt16OrNull() => _r.TokenType == JsonTokenType.Null ? null : UInt16();

    public readonly uint UInt32() =>
        _r.TokenType == JsonTokenType.Number && _r.TryGetUInt32(out uint v) ? v : throw Mismatch("an unsigned 32-bit integer");

    public readonly uint? UInt32OrNull() => _r.TokenType == JsonTokenType.Null ? null : UInt32();

    public readonly ulong UInt64() =>
        _r.TokenType == JsonTokenType.Number && _r.TryGetUInt64(out ulong v) ? v : throw Mismatch("an unsigned 64-bit integer");

    public readonly ulong? UInt64OrNull() => _r.TokenType == JsonTokenType.Null ? null : UInt64();

    public readonly DateTime DateTime() =>
        _r.TokenType == JsonTokenType.String && _r.TryGetDateTime(out var v) ? v : throw Mismatch("an ISO 8601 date");

    public readonly byte[]? Base64OrNull() => _r.TokenType switch
    {
        JsonTokenType.Null => null,
        JsonTokenType.String when _r.TryGetBytesFromBase64(out var b) => b,
        _ => throw Mismatch("a base64 string"),
    };

    // Element readers for lists and maps of scalars (method groups, so no closure per call).
    public static string StringElement(ref JsonCursor c) => c.String()!;
    public static uint UInt32Element(ref JsonCursor c) => c.UInt32();
    public static int Int32Element(ref JsonCursor c) => c.Int32();

    public List<T>? List<T>(Element<T> read)
    {
        if (_r.TokenType == JsonTokenType.Null) return null;
        if (_r.TokenType != JsonTokenType.StartArray) throw Mismatch("an array");
        var list = new List<T>();
        _path.PushIndex();
        while (true)
        {
            _r.Read();
            if (_r.TokenType == JsonTokenType.EndArray) break;
            _path.SetIndex(list.Count);
            list.Add(read(ref this));
        }
        _path.Pop();
        return list;
    }

    /// <summary>An object read as a dictionary: a repeated key keeps its last value, as STJ does.</summary>
    public Dictionary<string, T>? Map<T>(Element<T> read)
    {
        if (!StartObject("an object")) return null;
        var map = new Dictionary<string, T>();
        while (NextProperty(out string key)) map[key] = read(ref this);
        return map;
    }

    private readonly FieldException Mismatch(string expected) =>
        Error($"expected {expected}, found {Found()}", null);

    private readonly string Found() => _r.TokenType switch
    {
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "the number " + Encoding.UTF8.GetString(_r.ValueSpan),
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        JsonTokenType.Null => "null",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        var t => t.ToString(),
    };

    private readonly FieldException Error(string message, Exception? inner)
    {
        // The reader keeps its line to itself; count the line feeds before the token (only on failure).
        int at = (int)Math.Min(_r.TokenStartIndex, _json.Length);
        long line = _json[..at].Count((byte)'\n');
        int lineStart = _json[..at].LastIndexOf((byte)'\n') + 1;
        return new FieldException(message, _path.ToString(), line, at - lineStart, inner);
    }

    /// <summary>The reader's JsonException (Path: where, LineNumber: zero-based), distinguishable from the reader's own.</summary>
    private sealed class FieldException(string message, string path, long? line, long? position, Exception? inner)
        : JsonException(message, path, line, position, inner);
}
