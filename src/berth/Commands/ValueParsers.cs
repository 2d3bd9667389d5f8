using System.Globalization;
using System.Text.RegularExpressions;

namespace Berth.Cli.Commands;

/// <summary>docker's flag value syntaxes: sizes (512m, 1g), Go durations (1m30s), ulimits, signals, times.</summary>
public static partial class ValueParsers
{
    /// <summary>A size in bytes with binary units, docker's RAMInBytes: 1024, 512k, 64m, 1.5g.</summary>
    public static long Bytes(string value, string flag)
    {
        var m = SizeRegex().Match(value);
        if (!m.Success || !double.TryParse(m.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var n))
            throw new UsageException($"invalid argument \"{value}\" for \"{flag}\" flag: invalid size: '{value}'");
        long mult = m.Groups[2].Value.ToLowerInvariant() switch
        {
            "" or "b" => 1, "k" => 1L << 10, "m" => 1L << 20, "g" => 1L << 30, "t" => 1L << 40, "p" => 1L << 50, _ => 1,
        };
        return (long)(n * mult);
    }

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)\s*([kKmMgGtTpPbB]?)[iI]?[bB]?$")]
    private static partial Regex SizeRegex();

    /// <summary>A Go duration (300ms, 1.5h, 1m30s; a bare 0) in nanoseconds.</summary>
    public static long Duration(string value, string flag)
    {
        if (value == "0") return 0;
        var parts = DurationRegex().Matches(value);
        if (parts.Count == 0 || string.Concat(parts.Select(p => p.Value)) != value)
            throw new UsageException($"invalid argument \"{value}\" for \"{flag}\" flag: time: invalid duration \"{value}\"");
        double ns = 0;
        foreach (Match p in parts)
        {
            double n = double.Parse(p.Groups[1].Value, CultureInfo.InvariantCulture);
            ns += n * p.Groups[2].Value switch
            {
                "ns" => 1, "us" or "µs" => 1e3, "ms" => 1e6, "s" => 1e9, "m" => 60e9, _ => 3600e9,
            };
        }
        return (long)ns;
    }

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")]
    private static partial Regex DurationRegex();

    public static int Int(string value, string flag) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n
            : throw new UsageException($"invalid argument \"{value}\" for \"{flag}\" flag: strconv.ParseInt: parsing \"{value}\": invalid syntax");

    public static long Long(string value, string flag) =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n
            : throw new UsageException($"invalid argument \"{value}\" for \"{flag}\" flag: strconv.ParseInt: parsing \"{value}\": invalid syntax");

    /// <summary>--cpus 1.5 as NanoCpus.</summary>
    public static long NanoCpus(string value)
    {
        if (!decimal.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || d < 0)
            throw new UsageException($"invalid argument \"{value}\" for \"--cpus\" flag: failed to parse {value} as a rational number");
        return (long)(d * 1_000_000_000m);
    }

    /// <summary>--device HOST[:CONTAINER][:PERMISSIONS], docker's rule: a second field made of r, w and m is the permissions.</summary>
    public static Client.DeviceMappingBody Device(string value)
    {
        static bool IsPermissions(string p) => p.Length is > 0 and <= 3 && p.All(c => c is 'r' or 'w' or 'm');
        var f = value.Split(':');
        var d = new Client.DeviceMappingBody { PathOnHost = f[0] };
        switch (f.Length)
        {
            case 1: d.PathInContainer = f[0]; break;
            case 2 when IsPermissions(f[1]): d.PathInContainer = f[0]; d.CgroupPermissions = f[1]; break;
            case 2: d.PathInContainer = f[1]; break;
            case 3 when IsPermissions(f[2]): d.PathInContainer = f[1]; d.CgroupPermissions = f[2]; break;
            default: throw new UsageException($"invalid argument \"{value}\" for \"--device\" flag: bad format for path: {value}");
        }
        if (d.PathOnHost == "" || !d.PathInContainer.StartsWith('/')) throw new UsageException($"invalid argument \"{value}\" for \"--device\" flag: bad format for path: {value}");
        return d;
    }

    /// <summary>--ulimit nofile=1024:2048 (one number sets both).</summary>
    public static Client.UlimitBody Ulimit(string value)
    {
        int eq = value.IndexOf('=');
        if (eq <= 0) throw new UsageException($"invalid argument \"{value}\" for \"--ulimit\" flag: invalid ulimit argument: {value}");
        string name = value[..eq];
        var limits = value[(eq + 1)..].Split(':');
        if (limits.Length > 2 || !long.TryParse(limits[0], out var soft) || (limits.Length == 2 ? !long.TryParse(limits[1], out var hard) : !long.TryParse(limits[0], out hard)))
            throw new UsageException($"invalid argument \"{value}\" for \"--ulimit\" flag: invalid ulimit argument: {value}");
        if (soft > hard) throw new UsageException($"invalid argument \"{value}\" for \"--ulimit\" flag: ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}");
        return new Client.UlimitBody { Name = name, Soft = soft, Hard = hard };
    }

    /// <summary>
    /// docker's --since/--until: a unix time ("1700000000.5"), an RFC 3339 time or date, or a Go
    /// duration before now ("10m"). Returns unix seconds as text.
    /// </summary>
    public static string Timestamp(string value, string flag)
    {
        if (decimal.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _)) return value;
        if (DurationRegex().IsMatch(value) && !value.Contains('-') && !value.Contains(':'))
        {
            long ns = Duration(value, flag);
            var t = DateTimeOffset.UtcNow.AddTicks(-ns / 100);
            return t.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) + "." + (t.ToUnixTimeMilliseconds() % 1000 * 1_000_000).ToString("D9", CultureInfo.InvariantCulture);
        }
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when))
            return when.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        throw new UsageException($"invalid value for \"{flag}\": failed to parse value as time or duration: \"{value}\"");
    }

    /// <summary>KEY=VALUE lines of an --env-file or --label-file; a bare KEY takes this process's value.</summary>
    public static IEnumerable<string> KeyValueFile(string path, bool fromEnvironment)
    {
        string[] lines;
        try { lines = File.ReadAllLines(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new UsageException($"open {path}: no such file or directory"); }
        foreach (var raw in lines)
        {
            string line = raw.TrimStart();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            if (line.Contains('=')) { yield return line; continue; }
            if (!fromEnvironment) { yield return line + "="; continue; }
            if (Environment.GetEnvironmentVariable(line) is { } v) yield return $"{line}={v}";
        }
    }
}
