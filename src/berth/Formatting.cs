using System.Globalization;
using System.Text;

namespace Berth.Cli;

/// <summary>docker's human units: decimal sizes with three significant digits, "2 hours ago".</summary>
public static class Formatting
{
    public static string Size(long bytes)
    {
        string[] units = ["B", "kB", "MB", "GB", "TB", "PB"];
        double v = bytes;
        int i = 0;
        while (v >= 1000 && i < units.Length - 1) { v /= 1000; i++; }
        return v.ToString("G3", CultureInfo.InvariantCulture) + units[i];
    }

    public static string Since(DateTimeOffset t)
    {
        var d = DateTimeOffset.UtcNow - t;
        double s = d.TotalSeconds;
        string human =
            s < 1 ? "Less than a second" :
            s < 2 ? "1 second" :
            s < 60 ? $"{(int)s} seconds" :
            d.TotalMinutes < 2 ? "About a minute" :
            d.TotalMinutes < 60 ? $"{(int)d.TotalMinutes} minutes" :
            d.TotalHours < 2 ? "About an hour" :
            d.TotalHours < 48 ? $"{(int)d.TotalHours} hours" :
            d.TotalDays < 14 ? $"{(int)d.TotalDays} days" :
            d.TotalDays < 60 ? $"{(int)(d.TotalDays / 7)} weeks" :
            d.TotalDays < 730 ? $"{(int)(d.TotalDays / 30)} months" :
            $"{(int)(d.TotalDays / 365)} years";
        return human + " ago";
    }

    /// <summary>Lays out rows in columns separated by three spaces (docker's tabwriter).</summary>
    public static string Table(IReadOnlyList<string[]> rows)
    {
        if (rows.Count == 0) return "";
        int cols = rows.Max(r => r.Length);
        var widths = new int[cols];
        foreach (var r in rows)
            for (int i = 0; i < r.Length; i++) widths[i] = Math.Max(widths[i], r[i].Length);
        var sb = new StringBuilder();
        foreach (var r in rows)
        {
            for (int i = 0; i < r.Length; i++)
            {
                if (i == r.Length - 1) sb.Append(r[i]);
                else sb.Append(r[i].PadRight(widths[i] + 3));
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>
    /// A basic Go-template subset for <c>--format</c>: <c>{{.Field}}</c>, <c>{{json .}}</c>, a leading
    /// <c>table</c> (column layout with a header), and <c>\t</c>.
    /// </summary>
    public static string Template(string format, IReadOnlyList<IReadOnlyDictionary<string, string>> items, IReadOnlyDictionary<string, string> headers)
    {
        bool table = format.StartsWith("table", StringComparison.Ordinal);
        string body = (table ? format[5..].TrimStart() : format).Replace("\\t", "\t").Replace("\\n", "\n");
        var lines = new List<string>();
        if (table) lines.Add(Fill(body, headers));
        foreach (var item in items) lines.Add(Fill(body, item));
        if (!table) return string.Concat(lines.Select(l => l + "\n"));
        return Table(lines.Select(l => l.Split('\t')).ToList());
    }

    private static string Fill(string body, IReadOnlyDictionary<string, string> values)
    {
        var sb = new StringBuilder();
        int i = 0;
        while (i < body.Length)
        {
            int open = body.IndexOf("{{", i, StringComparison.Ordinal);
            if (open < 0) { sb.Append(body, i, body.Length - i); break; }
            sb.Append(body, i, open - i);
            int close = body.IndexOf("}}", open, StringComparison.Ordinal);
            if (close < 0) throw new UsageException($"template: unclosed action in \"{body}\"");
            string action = body[(open + 2)..close].Trim();
            if (action == "json .")
            {
                sb.Append('{');
                sb.AppendJoin(',', values.Select(kv => $"{Json(kv.Key)}:{Json(kv.Value)}"));
                sb.Append('}');
            }
            else if (action.StartsWith('.') && values.TryGetValue(action[1..], out var v)) sb.Append(v);
            else throw new UsageException($"template: can't evaluate field {action}");
            i = close + 2;
        }
        return sb.ToString();
    }

    private static string Json(string s) => System.Text.Json.JsonEncodedText.Encode(s, System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping).Value is var e ? $"\"{e}\"" : "";
}
