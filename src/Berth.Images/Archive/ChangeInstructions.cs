using System.Text;
using System.Text.Json;
using Berth.Images.Models;

namespace Berth.Images.Archive;

/// <summary>
/// <c>--change</c> instructions of <c>import</c>, in Dockerfile syntax: CMD, ENTRYPOINT (exec or
/// shell form), ENV, WORKDIR, USER, EXPOSE, LABEL, VOLUME, STOPSIGNAL.
/// </summary>
public static class ChangeInstructions
{
    public static void Apply(ContainerConfig c, string change)
    {
        string text = change.Trim();
        int sp = text.IndexOfAny([' ', '\t', '=']);
        string word = (sp < 0 ? text : text[..sp]).ToUpperInvariant();
        string arg = sp < 0 ? "" : text[sp..].TrimStart(' ', '\t', '=');
        if (arg.Length == 0 && word is not "CMD" and not "ENTRYPOINT")
            throw new ImageException($"--change \"{change}\": {word} needs an argument");
        switch (word)
        {
            case "CMD": c.Cmd = Command(arg, change); break;
            case "ENTRYPOINT": c.Entrypoint = Command(arg, change); break;
            case "WORKDIR":
                c.WorkingDir = arg.StartsWith('/') ? arg : "/" + arg;
                break;
            case "USER": c.User = arg; break;
            case "STOPSIGNAL": c.StopSignal = arg; break;
            case "ENV":
                c.Env ??= [];
                foreach (var (k, v) in Pairs(arg, change, "ENV"))
                {
                    c.Env.RemoveAll(e => e.StartsWith(k + "=", StringComparison.Ordinal));
                    c.Env.Add($"{k}={v}");
                }
                break;
            case "LABEL":
                c.Labels ??= new Dictionary<string, string>();
                foreach (var (k, v) in Pairs(arg, change, "LABEL")) c.Labels[k] = v;
                break;
            case "EXPOSE":
                c.ExposedPorts ??= new Dictionary<string, EmptyObject>();
                foreach (var p in Words(arg, change))
                {
                    string port = p.Contains('/') ? p : p + "/tcp";
                    var parts = port.Split('/');
                    if (!int.TryParse(parts[0].Split('-')[0], out int n) || n is < 1 or > 65535 || parts[1] is not ("tcp" or "udp" or "sctp"))
                        throw new ImageException($"--change \"{change}\": invalid port \"{p}\"");
                    c.ExposedPorts[port] = new EmptyObject();
                }
                break;
            case "VOLUME":
                c.Volumes ??= new Dictionary<string, EmptyObject>();
                foreach (var v in arg.StartsWith('[') ? JsonArray(arg, change) : Words(arg, change)) c.Volumes[v] = new EmptyObject();
                break;
            default:
                throw new ImageException($"--change \"{change}\": {word} is not a supported instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL)");
        }
    }

    private static List<string> Command(string arg, string change) =>
        arg.StartsWith('[') ? JsonArray(arg, change) : ["/bin/sh", "-c", arg];

    private static List<string> JsonArray(string arg, string change)
    {
        try
        {
            using var doc = JsonDocument.Parse(arg);
            if (doc.RootElement.ValueKind != JsonValueKind.Array) throw new ImageException($"--change \"{change}\": expected a JSON array");
            return doc.RootElement.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()!
                : throw new ImageException($"--change \"{change}\": the JSON array must hold strings")).ToList();
        }
        catch (JsonException e) { throw new ImageException($"--change \"{change}\": invalid JSON array ({e.Message})"); }
    }

    private static IEnumerable<(string, string)> Pairs(string arg, string change, string word)
    {
        var words = Words(arg, change);
        if (words.Count > 0 && !words[0].Contains('='))
        {
            // Legacy form: ENV key value with spaces
            int sp = arg.IndexOfAny([' ', '\t']);
            if (sp < 0) throw new ImageException($"--change \"{change}\": {word} needs key=value");
            yield return (arg[..sp], Unquote(arg[(sp + 1)..].Trim()));
            yield break;
        }
        foreach (var w in words)
        {
            int eq = w.IndexOf('=');
            if (eq <= 0) throw new ImageException($"--change \"{change}\": {word} needs key=value, got \"{w}\"");
            yield return (w[..eq], w[(eq + 1)..]);
        }
    }

    private static string Unquote(string s) => s.Length >= 2 && (s[0] == '"' && s[^1] == '"' || s[0] == '\'' && s[^1] == '\'') ? s[1..^1] : s;

    /// <summary>Splits on blanks, with "double", 'single' quotes and backslash escapes (the Dockerfile builder's words too).</summary>
    public static List<string> Words(string s, string change)
    {
        var result = new List<string>();
        var cur = new StringBuilder();
        bool any = false;
        char quote = '\0';
        for (int i = 0; i < s.Length; i++)
        {
            char ch = s[i];
            if (quote != '\0')
            {
                if (ch == quote) quote = '\0';
                else if (ch == '\\' && quote == '"' && i + 1 < s.Length) cur.Append(s[++i]);
                else cur.Append(ch);
                continue;
            }
            if (ch is '"' or '\'') { quote = ch; any = true; continue; }
            if (ch == '\\' && i + 1 < s.Length) { cur.Append(s[++i]); any = true; continue; }
            if (ch is ' ' or '\t')
            {
                if (any) { result.Add(cur.ToString()); cur.Clear(); any = false; }
                continue;
            }
            cur.Append(ch);
            any = true;
        }
        if (quote != '\0') throw new ImageException($"--change \"{change}\": unterminated quote");
        if (any) result.Add(cur.ToString());
        return result;
    }
}
