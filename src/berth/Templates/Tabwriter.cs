using System.Text;

namespace Berth.Cli;

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
