using System.Text;
using System.Text.Json;

namespace Berth.Engine.Build;

/// <summary>One instruction of a Dockerfile: its keyword (upper case), its flags (--chown=...), and its arguments.</summary>
/// <param name="Json">The arguments were a JSON array (exec form); otherwise <see cref="Args"/> holds the raw text once.</param>
public sealed record Instruction(int Line, string Keyword, IReadOnlyDictionary<string, string> Flags, IReadOnlyList<string> Args, bool Json, string Original);

/// <summary>
/// The Dockerfile syntax of docker's classic builder: comments, line continuations (backslash, or
/// the escape directive's character), keywords in any case, flags before the arguments, and the
/// JSON (exec) form against the shell form. Variables are not expanded here (see <see cref="Expand"/>).
/// </summary>
public static class Dockerfile
{
    private static readonly HashSet<string> Keywords =
    [
        "FROM", "RUN", "CMD", "ENTRYPOINT", "COPY", "ADD", "ENV", "ARG", "WORKDIR", "USER", "LABEL", "EXPOSE",
        "VOLUME", "STOPSIGNAL", "SHELL", "HEALTHCHECK", "ONBUILD", "MAINTAINER",
    ];

    public static List<Instruction> Parse(string text)
    {
        char escape = '\\';
        var lines = text.Replace("\r\n", "\n").Split('\n');
        int i = 0;
        // Parser directives: only at the very top, before any other line.
        for (; i < lines.Length; i++)
        {
            var l = lines[i].Trim();
            if (!l.StartsWith('#')) break;
            var d = l[1..].Trim();
            int eq = d.IndexOf('=');
            if (eq < 0) break;
            string key = d[..eq].Trim().ToLowerInvariant(), value = d[(eq + 1)..].Trim();
            if (key == "escape")
            {
                if (value is not ("\\" or "`")) throw new BuildException($"Dockerfile line {i + 1}: invalid escape character \"{value}\" (\\ or `)");
                escape = value[0];
            }
            else if (key != "syntax" && key != "check") break;
        }
        var result = new List<Instruction>();
        while (i < lines.Length)
        {
            int start = i + 1;
            var sb = new StringBuilder();
            string line = lines[i++];
            if (line.Trim().Length == 0 || line.TrimStart().StartsWith('#')) continue;
            while (true)
            {
                string t = line.TrimEnd();
                if (t.EndsWith(escape))
                {
                    sb.Append(t[..^1]);
                    // the next non-comment line continues it
                    while (i < lines.Length && lines[i].TrimStart().StartsWith('#')) i++;
                    if (i >= lines.Length) break;
                    line = lines[i++];
                    continue;
                }
                sb.Append(line);
                break;
            }
            result.Add(ParseInstruction(start, sb.ToString().Trim()));
        }
        if (result.Count == 0) throw new BuildException("the Dockerfile cannot be empty");
        int from = result.FindIndex(x => x.Keyword == "FROM");
        if (from < 0 || result.Take(from).Any(x => x.Keyword != "ARG"))
            throw new BuildException($"Dockerfile line {result[0].Line}: the first instruction must be FROM (only ARG may come before it)");
        return result;
    }

    /// <summary>One instruction on its own (an ONBUILD trigger).</summary>
    public static Instruction ParseInstruction(int line, string text)
    {
        int sp = 0;
        while (sp < text.Length && !char.IsWhiteSpace(text[sp])) sp++;
        string keyword = text[..sp].ToUpperInvariant();
        if (!Keywords.Contains(keyword)) throw new BuildException($"Dockerfile line {line}: unknown instruction: {text[..sp]}");
        string rest = text[sp..].TrimStart();
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        if (keyword is "COPY" or "ADD" or "FROM" or "HEALTHCHECK" or "RUN")
        {
            while (rest.StartsWith("--", StringComparison.Ordinal))
            {
                int end = 0;
                while (end < rest.Length && !char.IsWhiteSpace(rest[end])) end++;
                string flag = rest[2..end];
                int eq = flag.IndexOf('=');
                flags[eq < 0 ? flag : flag[..eq]] = eq < 0 ? "true" : flag[(eq + 1)..];
                rest = rest[end..].TrimStart();
            }
        }
        if (rest.Length == 0 && keyword is not ("RUN" or "CMD" or "ENTRYPOINT"))
            throw new BuildException($"Dockerfile line {line}: {keyword} requires at least one argument");
        if (rest.StartsWith('[') && TryJsonArray(rest, out var items))
            return new Instruction(line, keyword, flags, items, true, text);
        return new Instruction(line, keyword, flags, [rest], false, text);
    }

    private static bool TryJsonArray(string s, out List<string> items)
    {
        items = [];
        try
        {
            using var doc = JsonDocument.Parse(s);
            if (doc.RootElement.ValueKind != JsonValueKind.Array) return false;
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.String) return false;
                items.Add(e.GetString()!);
            }
            return true;
        }
        catch (JsonException) { return false; }
    }

    /// <summary>Splits shell-form words (COPY a b /dst, EXPOSE 80 443), with quotes kept together and removed.</summary>
    public static List<string> Words(string s)
    {
        try { return Berth.Images.Archive.ChangeInstructions.Words(s, s); }
        catch (Berth.Images.ImageException) { throw new BuildException($"unmatched quote in: {s}"); }
    }

    /// <summary>$VAR, ${VAR}, ${VAR:-default} and ${VAR:+alt}; \$ stays a literal $.</summary>
    public static string Expand(string s, IReadOnlyDictionary<string, string> vars)
    {
        if (!s.Contains('$')) return s;
        var sb = new StringBuilder();
        for (int i = 0; i < s.Length; i++)
        {
            char ch = s[i];
            if (ch == '\\' && i + 1 < s.Length && s[i + 1] == '$') { sb.Append('$'); i++; continue; }
            if (ch != '$' || i + 1 >= s.Length) { sb.Append(ch); continue; }
            if (s[i + 1] == '{')
            {
                int end = s.IndexOf('}', i + 2);
                if (end < 0) throw new BuildException($"missing '}}' in: {s}");
                string inner = s[(i + 2)..end];
                int op = inner.IndexOf(':');
                string name = op < 0 ? inner : inner[..op];
                vars.TryGetValue(name, out var v);
                if (op >= 0 && inner.Length > op + 1)
                {
                    string word = Expand(inner[(op + 2)..], vars);
                    v = inner[op + 1] switch
                    {
                        '-' => string.IsNullOrEmpty(v) ? word : v,
                        '+' => string.IsNullOrEmpty(v) ? "" : word,
                        _ => throw new BuildException($"unsupported modifier in ${{{inner}}}"),
                    };
                }
                sb.Append(v ?? "");
                i = end;
                continue;
            }
            int j = i + 1;
            while (j < s.Length && (char.IsLetterOrDigit(s[j]) || s[j] == '_')) j++;
            if (j == i + 1) { sb.Append(ch); continue; }
            sb.Append(vars.TryGetValue(s[(i + 1)..j], out var val) ? val : "");
            i = j - 1;
        }
        return sb.ToString();
    }
}

/// <summary>A build that cannot go on: the message is what the docker CLI prints.</summary>
public sealed class BuildException(string message) : Exception(message);
