using System.Text;
using System.Text.RegularExpressions;

namespace Berth.Cli.Build;

/// <summary>
/// .dockerignore as the docker CLI reads it: one pattern a line (# comments, blank lines skipped),
/// Go's filepath.Match syntax (* ? [...]) plus ** for any number of directories, paths relative
/// to the context root, and "!" lines that take an earlier match back; the last matching line
/// wins. A directory that matches takes everything below it along.
/// </summary>
public sealed class DockerIgnore
{
    private readonly List<(Regex Pattern, bool Exception)> _rules = [];

    public DockerIgnore(IEnumerable<string> lines)
    {
        foreach (var raw in lines)
        {
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            bool exception = line.StartsWith('!');
            if (exception) line = line[1..].Trim();
            line = Clean(line);
            if (line.Length == 0) continue;
            _rules.Add((new Regex("^" + ToRegex(line) + "$", RegexOptions.CultureInvariant), exception));
        }
    }

    public static DockerIgnore Load(string contextDir)
    {
        string f = Path.Combine(contextDir, ".dockerignore");
        return new DockerIgnore(File.Exists(f) ? File.ReadAllLines(f) : []);
    }

    /// <summary>True when the path (relative, '/'-separated) or one of its parent directories is excluded.</summary>
    public bool Excludes(string rel)
    {
        if (_rules.Count == 0) return false;
        rel = Clean(rel);
        bool excluded = false;
        foreach (var (p, exception) in _rules)
        {
            if (Matches(p, rel)) excluded = !exception;
        }
        return excluded;
    }

    private static bool Matches(Regex p, string rel)
    {
        if (p.IsMatch(rel)) return true;
        // a pattern that names a directory covers what is below it
        for (int i = rel.IndexOf('/'); i > 0; i = rel.IndexOf('/', i + 1))
            if (p.IsMatch(rel[..i])) return true;
        return false;
    }

    private static string Clean(string p)
    {
        var parts = new List<string>();
        foreach (var c in p.Replace('\\', '/').Split('/'))
        {
            if (c is "" or ".") continue;
            if (c == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(c);
        }
        return string.Join('/', parts);
    }

    private static string ToRegex(string pattern)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                // "**/" is any number of directories (none too); a final "**" is anything
                i++;
                if (i + 1 < pattern.Length && pattern[i + 1] == '/') { sb.Append("(.*/)?"); i++; }
                else sb.Append(".*");
            }
            else if (c == '*') sb.Append("[^/]*");
            else if (c == '?') sb.Append("[^/]");
            else if (c == '[')
            {
                int end = pattern.IndexOf(']', i + 1);
                if (end < 0) { sb.Append("\\["); continue; }
                string set = pattern[(i + 1)..end];
                sb.Append('[').Append(set.StartsWith('^') || set.StartsWith('!') ? "^" + Regex.Escape(set[1..]) : Regex.Escape(set)).Append(']');
                i = end;
            }
            else if (c == '\\' && i + 1 < pattern.Length) sb.Append(Regex.Escape(pattern[++i].ToString()));
            else sb.Append(Regex.Escape(c.ToString()));
        }
        return sb.ToString();
    }
}
