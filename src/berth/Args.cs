namespace Berth.Cli;

/// <summary>A command line usage mistake: printed as one line, exit code 125 like docker's flag errors.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>--help after a command: print its usage, exit 0.</summary>
public sealed class HelpRequested(string command) : Exception(command)
{
    public string Command { get; } = command;
}

/// <summary>
/// A small docker-style option parser: <c>-f</c>, <c>--force</c>, <c>--opt value</c>, <c>--opt=value</c>,
/// repeated options, <c>--</c>, and combined short flags (<c>-fq</c>).
/// </summary>
public sealed class Args
{
    private readonly string _command;
    private readonly Dictionary<string, List<string>> _values = new();
    private readonly HashSet<string> _flags = new();
    public List<string> Positional { get; } = [];

    /// <param name="flags">boolean options, each "name|alias"</param>
    /// <param name="options">options that take a value, each "name|alias"</param>
    /// <param name="interspersed">false for run, exec and create: everything from the first positional on belongs to the container's command</param>
    public Args(string command, IEnumerable<string> argv, string[] flags, string[] options, bool interspersed = true)
    {
        _command = command;
        var flagNames = Expand(flags);
        var optionNames = Expand(options);
        var list = argv.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            string a = list[i];
            if (a == "--") { Positional.AddRange(list.Skip(i + 1)); break; }
            if (!interspersed && Positional.Count > 0) { Positional.Add(a); continue; }
            if (a is "--help" or "-h" && !flagNames.ContainsKey("h") && !optionNames.ContainsKey("h")) throw new HelpRequested(command);
            if (a.Length > 1 && a[0] == '-' && a != "-")
            {
                string name = a.TrimStart('-');
                string? inline = null;
                int eq = name.IndexOf('=');
                if (eq >= 0) { inline = name[(eq + 1)..]; name = name[..eq]; }
                if (!a.StartsWith("--") && name.Length > 1 && inline is null && name.All(c => flagNames.ContainsKey(c.ToString())))
                {
                    foreach (var c in name) _flags.Add(flagNames[c.ToString()]);
                    continue;
                }
                // -itd, -eFOO=bar, -it --name: leading short flags, then at most one short option with its value attached or next.
                if (!a.StartsWith("--") && name.Length > 1 && !flagNames.ContainsKey(name) && !optionNames.ContainsKey(name))
                {
                    string full = a[1..];
                    int k = 0;
                    while (k < full.Length && flagNames.ContainsKey(full[k].ToString())) { _flags.Add(flagNames[full[k].ToString()]); k++; }
                    if (k < full.Length && optionNames.TryGetValue(full[k].ToString(), out var opt))
                    {
                        string rest = full[(k + 1)..];
                        if (rest.StartsWith('=')) rest = rest[1..];
                        string value = rest.Length > 0 ? rest : i + 1 < list.Count ? list[++i] : throw new UsageException($"flag needs an argument: '{full[k]}' in -{full[k]}");
                        if (!_values.TryGetValue(opt, out var vs0)) _values[opt] = vs0 = [];
                        vs0.Add(value);
                        continue;
                    }
                    throw new UsageException($"unknown shorthand flag: '{full[Math.Min(k, full.Length - 1)]}' in {a}");
                }
                if (flagNames.TryGetValue(name, out var canonical))
                {
                    if (inline is not null and not ("true" or "false")) throw new UsageException($"invalid value \"{inline}\" for flag {a[..(a.IndexOf('=') )]}");
                    if (inline != "false") _flags.Add(canonical);
                    continue;
                }
                if (optionNames.TryGetValue(name, out canonical))
                {
                    string value = inline ?? (i + 1 < list.Count ? list[++i] : throw new UsageException($"flag needs an argument: {a}"));
                    if (!_values.TryGetValue(canonical, out var vs)) _values[canonical] = vs = [];
                    vs.Add(value);
                    continue;
                }
                throw new UsageException($"unknown flag: {a}");
            }
            Positional.Add(a);
        }
    }

    private static Dictionary<string, string> Expand(string[] specs)
    {
        var d = new Dictionary<string, string>();
        foreach (var s in specs)
        {
            var names = s.Split('|');
            foreach (var n in names) d[n] = names[0];
        }
        return d;
    }

    public bool Flag(string name) => _flags.Contains(name);
    public bool Has(string name) => _flags.Contains(name) || _values.ContainsKey(name);
    public string? Value(string name) => _values.TryGetValue(name, out var v) ? v[^1] : null;
    public IReadOnlyList<string> Values(string name) => _values.TryGetValue(name, out var v) ? v : [];

    public void Require(int min, int max, string usage)
    {
        if (Positional.Count < min || Positional.Count > max)
            throw new UsageException($"\"berth {_command}\" requires {(min == max ? $"exactly {min}" : max == int.MaxValue ? $"at least {min}" : $"{min} to {max}")} argument{(max == 1 ? "" : "s")}. Usage: berth {_command} {usage}");
    }
}
