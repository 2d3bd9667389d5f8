namespace Berth.Linux.Cgroups.Stats;

/// <summary>Parsers for the text formats of the stats files, shared by the v1 and v2 readers.</summary>
internal static class StatsParsing
{
    /// <summary>blkio v1 lines "8:0 Read 4096" (the trailing "Total N" line has no device and is skipped).</summary>
    public static List<BlkioEntry> ParseBlkio(string? text)
    {
        var list = new List<BlkioEntry>();
        if (text == null) return list;
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 2 || !TryDevice(f[0], out var maj, out var min)) continue;
            // "8:0 Read 4096" (op and value) or "8:0 4096" (sectors, time: no op)
            string op = f.Length >= 3 ? f[1] : "";
            if (!ulong.TryParse(f[^1], out var v)) continue;
            list.Add(new BlkioEntry { Major = maj, Minor = min, Op = op, Value = v });
        }
        return list;
    }

    /// <summary>v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0", mapped onto v1's op names.</summary>
    public static void ParseIoStat(string? text, BlkioStats into)
    {
        if (text == null) return;
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 2 || !TryDevice(f[0], out var maj, out var min)) continue;
            foreach (var kv in f.Skip(1))
            {
                var eq = kv.IndexOf('=');
                if (eq < 0 || !ulong.TryParse(kv.AsSpan(eq + 1), out var v)) continue;
                var (list, op) = kv[..eq] switch
                {
                    "rbytes" => (into.IoServiceBytesRecursive, "Read"),
                    "wbytes" => (into.IoServiceBytesRecursive, "Write"),
                    "dbytes" => (into.IoServiceBytesRecursive, "Discard"),
                    "rios" => (into.IoServicedRecursive, "Read"),
                    "wios" => (into.IoServicedRecursive, "Write"),
                    "dios" => (into.IoServicedRecursive, "Discard"),
                    _ => ((List<BlkioEntry>?)null, ""),
                };
                list?.Add(new BlkioEntry { Major = maj, Minor = min, Op = op, Value = v });
            }
        }
    }

    public static List<ulong> ParseNumbers(string? text) =>
        text == null ? new() : text.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries)
            .Select(s => ulong.TryParse(s, out var v) ? v : 0).ToList();

    private static bool TryDevice(string s, out ulong major, out ulong minor)
    {
        major = minor = 0;
        var c = s.IndexOf(':');
        return c > 0 && ulong.TryParse(s.AsSpan(0, c), out major) && ulong.TryParse(s.AsSpan(c + 1), out minor);
    }

    /// <summary>Page sizes offered by the kernel, named as in hugetlb file names: hugepages-2048kB -> "2MB".</summary>
    public static IReadOnlyList<string> HugePageSizes()
    {
        const string dir = "/sys/kernel/mm/hugepages";
        if (!Directory.Exists(dir)) return Array.Empty<string>();
        var list = new List<string>();
        foreach (var d in Directory.GetDirectories(dir))
        {
            var name = Path.GetFileName(d);
            if (!name.StartsWith("hugepages-", StringComparison.Ordinal) || !name.EndsWith("kB", StringComparison.Ordinal)) continue;
            if (ulong.TryParse(name.AsSpan(10, name.Length - 12), out var kb)) list.Add(PageSizeName(kb * 1024));
        }
        return list;
    }

    /// <summary>The kernel's hugetlb cgroup file naming: the largest unit that divides evenly (2MB, 1GB, 64KB).</summary>
    public static string PageSizeName(ulong bytes)
    {
        string[] units = ["B", "KB", "MB", "GB", "TB"];
        int i = 0;
        while (bytes >= 1024 && bytes % 1024 == 0 && i < units.Length - 1) { bytes /= 1024; i++; }
        return $"{bytes}{units[i]}";
    }
}
