using System.Text.Json;
using Berth.Cli.Templates;

namespace Berth.Cli;

/// <summary>
/// docker's <c>--format</c>: Go's text/template on the JSON of what is listed or inspected, with
/// docker's functions (see <see cref="TemplateFunctions"/>), the escapes <c>\t</c> and <c>\n</c>, and a
/// leading <c>table</c> (a header row and docker's column layout).
/// </summary>
public static class GoTemplate
{
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal) { "if", "else", "end", "range", "with" };

    public static bool IsTable(string format) => format.StartsWith("table", StringComparison.Ordinal);

    /// <summary>Renders each item on its own line (docker's behaviour for a non-table format).</summary>
    public static string RenderLines(string format, IEnumerable<JsonElement> items, IReadOnlyDictionary<string, string>? headers = null)
    {
        if (IsTable(format))
        {
            string body = Unescape(format[5..].TrimStart(' '));
            if (body.Length == 0) throw new UsageException("template: table needs a format after it");
            var nodes = TemplateParser.Parse(body);
            var lines = new List<string> { Header(body, headers ?? new Dictionary<string, string>()) };
            foreach (var item in items) lines.Add(TemplateEvaluator.Run(nodes, item));
            return Tabwriter.Layout(lines);
        }
        var parsed = TemplateParser.Parse(Unescape(format));
        var sb = new System.Text.StringBuilder();
        foreach (var item in items) sb.Append(TemplateEvaluator.Run(parsed, item)).Append('\n');
        return sb.ToString();
    }

    public static string Unescape(string s) => s.Replace("\\t", "\t").Replace("\\n", "\n");

    public static string Render(string format, JsonElement root) => TemplateEvaluator.Run(TemplateParser.Parse(Unescape(format)), root);

    /// <summary>How Go's fmt prints a value decoded from JSON.</summary>
    public static string Plain(JsonElement e) => TemplateValues.PrintJson(e);

    // The header row: each action's last field, through the command's names (ID -> CONTAINER ID),
    // else in upper case; control actions ({{range}}, {{end}} ...) add no column text.
    private static string Header(string body, IReadOnlyDictionary<string, string> headers)
    {
        var sb = new System.Text.StringBuilder();
        int i = 0;
        // The literal text between actions stays (tabs make the columns); each action becomes its header.
        while (i < body.Length)
        {
            int open = body.IndexOf("{{", i, StringComparison.Ordinal);
            if (open < 0) { sb.Append(body, i, body.Length - i); break; }
            sb.Append(body, i, open - i);
            int close = body.IndexOf("}}", open, StringComparison.Ordinal);
            if (close < 0) break;
            string action = body[(open + 2)..close].Trim().Trim('-').Trim();
            var words = action.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length > 0 && !Keywords.Contains(words[0]) && !action.StartsWith("/*", StringComparison.Ordinal))
            {
                string? field = words.LastOrDefault(w => w.StartsWith('.') && w.Length > 1);
                string name = field is null ? "" : field[(field.LastIndexOf('.') + 1)..];
                sb.Append(headers.TryGetValue(name, out var h) ? h : name.ToUpperInvariant());
            }
            i = close + 2;
        }
        return sb.ToString();
    }
}
