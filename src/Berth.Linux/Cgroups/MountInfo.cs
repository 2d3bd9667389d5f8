namespace Berth.Linux.Cgroups;

/// <summary>One line of /proc/&lt;pid&gt;/mountinfo (proc(5)), only the fields cgroup code needs.</summary>
public sealed record MountInfoEntry(
    int MountId,
    int ParentId,
    string Root,
    string MountPoint,
    string FsType,
    string Source,
    IReadOnlyList<string> SuperOptions);

/// <summary>Parser for the mountinfo format.</summary>
public static class MountInfo
{
    public static IReadOnlyList<MountInfoEntry> ReadSelf() => Parse(Io.FdIo.ReadText("/proc/self/mountinfo"));

    /// <summary>
    /// Parses mountinfo text. Line shape:
    /// <c>36 35 98:0 /root /mnt rw,noatime master:1 - ext3 /dev/root rw,errors=continue</c>;
    /// the optional fields before "-" vary in number, so the separator is searched for.
    /// </summary>
    public static IReadOnlyList<MountInfoEntry> Parse(string text)
    {
        var list = new List<MountInfoEntry>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            var f = line.Split(' ');
            int sep = Array.IndexOf(f, "-", 6);
            if (f.Length < 7 || sep < 0 || sep + 3 > f.Length) continue; // malformed line: skip, never guess
            if (!int.TryParse(f[0], out var id) || !int.TryParse(f[1], out var parent)) continue;
            list.Add(new MountInfoEntry(id, parent, Unescape(f[3]), Unescape(f[4]), f[sep + 1],
                Unescape(f[sep + 2]), sep + 3 < f.Length ? f[sep + 3].Split(',') : Array.Empty<string>()));
        }
        return list;
    }

    /// <summary>The kernel writes space, tab, newline and backslash in paths as octal escapes (\040 ...).</summary>
    public static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new System.Text.StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && IsOctal(s, i + 1))
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }

    private static bool IsOctal(string s, int at) =>
        at + 3 <= s.Length && s[at] is >= '0' and <= '7' && s[at + 1] is >= '0' and <= '7' && s[at + 2] is >= '0' and <= '7';
}
