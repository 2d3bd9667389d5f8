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
    /// <c>--format</c> over rows of named strings (the local image commands): the same Go templates as
    /// everywhere else (<see cref="GoTemplate"/>), each row a JSON object of its columns.
    /// </summary>
    public static string Template(string format, IReadOnlyList<IReadOnlyDictionary<string, string>> items, IReadOnlyDictionary<string, string> headers)
    {
        var rows = items.Select(item =>
        {
            using var ms = new MemoryStream();
            using (var w = new System.Text.Json.Utf8JsonWriter(ms))
            {
                w.WriteStartObject();
                foreach (var (k, v) in item) w.WriteString(k, v);
                w.WriteEndObject();
            }
            return System.Text.Json.JsonDocument.Parse(ms.ToArray()).RootElement;
        }).ToList();
        return GoTemplate.RenderLines(format, rows, headers);
    }
}
