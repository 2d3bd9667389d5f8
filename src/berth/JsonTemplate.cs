using System.Text;
using System.Text.Json;

namespace Berth.Cli;

/// <summary>
/// The part of Go templates that <c>inspect --format</c> is used with: <c>{{.Field.Sub}}</c> (strings raw,
/// lists as <c>[a b]</c>, like Go's fmt) and <c>{{json .Field}}</c>.
/// </summary>
public static class JsonTemplate
{
    public static string Render(string format, JsonElement root)
    {
        var sb = new StringBuilder();
        int i = 0;
        format = format.Replace("\\n", "\n").Replace("\\t", "\t");
        while (i < format.Length)
        {
            int open = format.IndexOf("{{", i, StringComparison.Ordinal);
            if (open < 0) { sb.Append(format, i, format.Length - i); break; }
            sb.Append(format, i, open - i);
            int close = format.IndexOf("}}", open, StringComparison.Ordinal);
            if (close < 0) throw new UsageException($"template: unclosed action in \"{format}\"");
            string action = format[(open + 2)..close].Trim();
            bool json = action.StartsWith("json ", StringComparison.Ordinal);
            string path = json ? action[5..].Trim() : action;
            if (!path.StartsWith('.')) throw new UsageException($"template: unsupported action \"{action}\"");
            var value = Navigate(root, path);
            sb.Append(json ? value.GetRawText() : Plain(value));
            i = close + 2;
        }
        return sb.ToString();
    }

    private static JsonElement Navigate(JsonElement e, string path)
    {
        if (path == ".") return e;
        foreach (var part in path[1..].Split('.'))
        {
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(part, out var next))
                throw new UsageException($"template: can't evaluate field {part}");
            e = next;
        }
        return e;
    }

    private static string Plain(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString()!,
        JsonValueKind.Null => "<no value>",
        JsonValueKind.Array => "[" + string.Join(' ', e.EnumerateArray().Select(Plain)) + "]",
        JsonValueKind.Object => "map[" + string.Join(' ', e.EnumerateObject().Select(p => $"{p.Name}:{Plain(p.Value)}")) + "]",
        _ => e.GetRawText(),
    };
}
