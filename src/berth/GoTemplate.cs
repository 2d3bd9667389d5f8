using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Berth.Cli;

/// <summary>
/// The part of Go's text/template that people pass to docker's <c>--format</c>, evaluated on JSON:
/// <c>{{.Field.Sub}}</c> (strings raw, lists as <c>[a b]</c>, maps as <c>map[k:v]</c>, like Go's fmt),
/// <c>{{.}}</c>, <c>{{json .X}}</c>, <c>{{index .X "key"}}</c>, <c>{{join .X ","}}</c>,
/// <c>{{upper .X}}</c>, <c>{{lower .X}}</c>, <c>{{println}}</c>, the escapes <c>\t</c> and <c>\n</c>, and a
/// leading <c>table</c> (a header row and docker's column layout).
/// </summary>
public static class GoTemplate
{
    public static bool IsTable(string format) => format.StartsWith("table", StringComparison.Ordinal);

    /// <summary>Renders each item on its own line (docker's behaviour for a non-table format).</summary>
    public static string RenderLines(string format, IEnumerable<JsonElement> items, IReadOnlyDictionary<string, string>? headers = null)
    {
        if (IsTable(format))
        {
            string body = Unescape(format[5..].TrimStart(' '));
            if (body.Length == 0) throw new UsageException("template: table needs a format after it");
            var lines = new List<string> { Header(body, headers ?? new Dictionary<string, string>()) };
            foreach (var item in items) lines.Add(Render(body, item));
            return Tabwriter.Layout(lines);
        }
        var sb = new StringBuilder();
        foreach (var item in items) sb.Append(Render(format, item)).Append('\n');
        return sb.ToString();
    }

    public static string Unescape(string s) => s.Replace("\\t", "\t").Replace("\\n", "\n");

    public static string Render(string format, JsonElement root)
    {
        format = Unescape(format);
        var sb = new StringBuilder();
        foreach (var (literal, action) in Split(format))
        {
            if (action is null) { sb.Append(literal); continue; }
            sb.Append(Evaluate(action, root));
        }
        return sb.ToString();
    }

    private static IEnumerable<(string Literal, string? Action)> Split(string format)
    {
        int i = 0;
        while (i < format.Length)
        {
            int open = format.IndexOf("{{", i, StringComparison.Ordinal);
            if (open < 0) { yield return (format[i..], null); yield break; }
            if (open > i) yield return (format[i..open], null);
            int close = format.IndexOf("}}", open, StringComparison.Ordinal);
            if (close < 0) throw new UsageException($"template parsing error: template: :1: unclosed action");
            string action = format[(open + 2)..close];
            // {{- and -}} trim the neighbouring space in Go; the actions here never need it, so drop the markers.
            action = action.Trim();
            if (action.StartsWith('-')) action = action[1..].Trim();
            if (action.EndsWith('-')) action = action[..^1].Trim();
            yield return ("", action);
            i = close + 2;
        }
    }

    private static string Header(string body, IReadOnlyDictionary<string, string> headers)
    {
        var sb = new StringBuilder();
        foreach (var (literal, action) in Split(body))
        {
            if (action is null) { sb.Append(literal); continue; }
            var words = Words(action);
            string? field = words.LastOrDefault(w => w.StartsWith('.') && w.Length > 1);
            string name = field is null ? "" : field[(field.LastIndexOf('.') + 1)..];
            sb.Append(headers.TryGetValue(name, out var h) ? h : name.ToUpperInvariant());
        }
        return sb.ToString();
    }

    private static string Evaluate(string action, JsonElement root)
    {
        var words = Words(action);
        if (words.Count == 0) return "";
        switch (words[0])
        {
            case "json":
                Need(words, 2, action);
                return Compact(Value(words[1], root));
            case "index":
                {
                    Need(words, 3, action);
                    var v = Value(words[1], root);
                    string key = Literal(words[2]);
                    if (v.ValueKind == JsonValueKind.Object) return v.TryGetProperty(key, out var x) ? Plain(x) : "<no value>";
                    if (v.ValueKind == JsonValueKind.Array && int.TryParse(key, out var n) && n >= 0 && n < v.GetArrayLength()) return Plain(v[n]);
                    throw new Client.CliException($"template: :1: executing \"\" at <index>: error calling index: cannot index {key}");
                }
            case "join":
                {
                    Need(words, 3, action);
                    var v = Value(words[1], root);
                    return v.ValueKind == JsonValueKind.Array ? string.Join(Literal(words[2]), v.EnumerateArray().Select(Plain)) : Plain(v);
                }
            case "upper": Need(words, 2, action); return Plain(Value(words[1], root)).ToUpperInvariant();
            case "lower": Need(words, 2, action); return Plain(Value(words[1], root)).ToLowerInvariant();
            case "title": Need(words, 2, action); var t = Plain(Value(words[1], root)); return t.Length == 0 ? t : char.ToUpperInvariant(t[0]) + t[1..];
            case "println": return string.Join(' ', words.Skip(1).Select(w => Plain(Value(w, root)))) + "\n";
            case "print": return string.Join(' ', words.Skip(1).Select(w => Plain(Value(w, root))));
        }
        if (words.Count != 1) throw new UsageException($"template parsing error: template: :1: function \"{words[0]}\" not defined");
        return Plain(Value(words[0], root));
    }

    private static void Need(List<string> words, int n, string action)
    {
        if (words.Count != n) throw new UsageException($"template parsing error: template: :1: wrong number of args in {{{{{action}}}}}");
    }

    private static List<string> Words(string action)
    {
        var words = new List<string>();
        int i = 0;
        while (i < action.Length)
        {
            if (char.IsWhiteSpace(action[i])) { i++; continue; }
            if (action[i] == '"')
            {
                int j = i + 1;
                while (j < action.Length && action[j] != '"') j += action[j] == '\\' ? 2 : 1;
                words.Add(action[i..Math.Min(j + 1, action.Length)]);
                i = j + 1;
                continue;
            }
            int k = i;
            while (k < action.Length && !char.IsWhiteSpace(action[k])) k++;
            words.Add(action[i..k]);
            i = k;
        }
        return words;
    }

    private static string Literal(string word) =>
        word.StartsWith('"') ? JsonDocument.Parse(word).RootElement.GetString() ?? "" : word;

    private static JsonElement Value(string word, JsonElement root)
    {
        if (word.StartsWith('"')) return JsonDocument.Parse(word).RootElement;
        if (word == ".") return root;
        if (!word.StartsWith('.')) throw new UsageException($"template parsing error: template: :1: function \"{word}\" not defined");
        var e = root;
        foreach (var part in word[1..].Split('.'))
        {
            if (e.ValueKind != JsonValueKind.Object)
                throw new Client.CliException($"template: :1: executing \"\" at <{word}>: can't evaluate field {part}");
            if (!e.TryGetProperty(part, out var next))
            {
                // Go's templates on docker's typed structs fail for an unknown field; on a map they print <no value>.
                throw new Client.CliException($"template: :1: executing \"\" at <{word}>: can't evaluate field {part}");
            }
            e = next;
        }
        return e;
    }

    private static string Compact(JsonElement e)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping })) e.WriteTo(w);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>How Go's fmt prints a value decoded from JSON.</summary>
    public static string Plain(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString()!,
        JsonValueKind.Null or JsonValueKind.Undefined => "<no value>",
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Number => e.TryGetInt64(out var l) ? l.ToString(CultureInfo.InvariantCulture) : e.GetDouble().ToString(CultureInfo.InvariantCulture),
        JsonValueKind.Array => "[" + string.Join(' ', e.EnumerateArray().Select(Plain)) + "]",
        JsonValueKind.Object => "map[" + string.Join(' ', e.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => $"{p.Name}:{Plain(p.Value)}")) + "]",
        _ => e.GetRawText(),
    };
}

/// <summary>docker's table layout: Go's tabwriter with minimum width 10, padding 3, tab-separated cells.</summary>
public static class Tabwriter
{
    public static string Layout(IReadOnlyList<string> lines)
    {
        var rows = lines.SelectMany(l => l.Split('\n')).Select(l => l.Split('\t')).ToList();
        int cols = rows.Count == 0 ? 0 : rows.Max(r => r.Length);
        var widths = new int[cols];
        foreach (var r in rows)
            for (int i = 0; i < r.Length - 1; i++) widths[i] = Math.Max(widths[i], Math.Max(10, r[i].Length + 3));
        var sb = new StringBuilder();
        foreach (var r in rows)
        {
            for (int i = 0; i < r.Length; i++)
                sb.Append(i == r.Length - 1 ? r[i] : r[i].PadRight(widths[i]));
            sb.Append('\n');
        }
        return sb.ToString();
    }

    public static string Layout(IReadOnlyList<string[]> rows) => Layout(rows.Select(r => string.Join('\t', r)).ToList());
}
