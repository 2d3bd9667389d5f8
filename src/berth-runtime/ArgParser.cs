namespace Berth.RuntimeCli;

/// <summary>
/// runc-style command-line flags: --name value, --name=value, -n value, single-dash long
/// names (-bundle, as Go's flag package allows), repeatable flags, and positional arguments.
/// Parsing stops at the first positional argument when <c>stopAtPositional</c> is set
/// (exec and ps pass the rest through to the program).
/// </summary>
public sealed class ArgParser
{
    private readonly Dictionary<string, (string Canonical, bool TakesValue)> _flags = new();
    private readonly Dictionary<string, List<string>> _values = new();
    public List<string> Positional { get; } = new();

    public ArgParser Flag(string names, bool takesValue = true)
    {
        var parts = names.Split('|');
        foreach (var n in parts) _flags[n] = (parts[0], takesValue);
        return this;
    }

    public ArgParser Bool(string names) => Flag(names, takesValue: false);

    public ArgParser Parse(IReadOnlyList<string> args, bool stopAtPositional = false)
    {
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (a == "--") { Positional.AddRange(args.Skip(i + 1)); break; }
            if (a.Length > 1 && a[0] == '-')
            {
                string name = a.TrimStart('-');
                string? inline = null;
                int eq = name.IndexOf('=');
                if (eq >= 0) { inline = name[(eq + 1)..]; name = name[..eq]; }
                if (!_flags.TryGetValue(name, out var f)) throw new UsageException($"unknown flag: {a}");
                string value;
                if (f.TakesValue)
                {
                    if (inline is not null) value = inline;
                    else if (i + 1 < args.Count) value = args[++i];
                    else throw new UsageException($"flag needs an argument: {a}");
                }
                else value = inline ?? "true";
                if (!_values.TryGetValue(f.Canonical, out var list)) _values[f.Canonical] = list = new List<string>();
                list.Add(value);
                continue;
            }
            Positional.Add(a);
            if (stopAtPositional) { Positional.AddRange(args.Skip(i + 1)); break; }
        }
        return this;
    }

    public string? Get(string name) => _values.TryGetValue(name, out var l) ? l[^1] : null;
    public IReadOnlyList<string> All(string name) => _values.TryGetValue(name, out var l) ? l : Array.Empty<string>();
    public bool Has(string name) => Get(name) is string v && v != "false";

    public int GetInt(string name, int fallback)
    {
        var v = Get(name);
        if (v is null) return fallback;
        if (!int.TryParse(v, out int n) || n < 0) throw new UsageException($"--{name}: \"{v}\" is not a non-negative number");
        return n;
    }

    public string RequireId(string command)
    {
        if (Positional.Count < 1) throw new UsageException($"{command}: a container id is required");
        return Positional[0];
    }
}

public sealed class UsageException : Exception
{
    public UsageException(string message) : base(message) { }
}
