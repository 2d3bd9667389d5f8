using Berth.Linux.Interop;

namespace Berth.Linux.Cgroups;

/// <summary>
/// Reads and writes cgroup control files with plain open/write/read so that the kernel's errno comes back
/// unchanged (a managed FileStream hides EBUSY / EINVAL behind generic IOExceptions). A control file takes
/// one value per write(2), so each value is written with a single call.
/// </summary>
internal static unsafe class CgroupFiles
{
    public static bool Exists(string dir, string file) => File.Exists(Path.Combine(dir, file));

    public static void Write(string dir, string file, string value)
    {
        int rc = TryWrite(dir, file, value);
        if (rc != 0) throw CgroupException.Write(dir, file, value, rc);
    }

    /// <summary>Writes and returns 0, or the errno of the failure.</summary>
    public static int TryWrite(string dir, string file, string value)
    {
        var path = Path.Combine(dir, file);
        int fd = LibC.open(path, O.WRONLY | O.TRUNC | O.CLOEXEC, 0);
        if (fd < 0) return Errno.Last;
        try { return WriteValue(fd, value); }
        finally { LibC.close(fd); }
    }

    /// <summary>One value in one write(2); 0, or the errno.</summary>
    private static int WriteValue(int fd, string value)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(value);
        fixed (byte* p = bytes)
        {
            nint n;
            do n = LibC.write(fd, p, (nuint)bytes.Length);
            while (n < 0 && Errno.Last == Errno.EINTR);
            return n < 0 ? Errno.Last : 0;
        }
    }

    /// <summary>
    /// Writes (file, value) pairs in order, one write(2) each (the kernel takes one rule per
    /// write in devices.allow/deny), reusing the open file while the name stays the same.
    /// </summary>
    public static void WriteInOrder(string dir, IEnumerable<(string File, string Value)> writes)
    {
        string? openName = null;
        int fd = -1;
        try
        {
            foreach (var (file, value) in writes)
            {
                if (file != openName)
                {
                    if (fd >= 0) LibC.close(fd);
                    fd = LibC.open(Path.Combine(dir, file), O.WRONLY | O.TRUNC | O.CLOEXEC, 0);
                    if (fd < 0) throw CgroupException.Write(dir, file, value, Errno.Last);
                    openName = file;
                }
                int e = WriteValue(fd, value);
                if (e != 0) throw CgroupException.Write(dir, file, value, e);
            }
        }
        finally { if (fd >= 0) LibC.close(fd); }
    }

    public static string Read(string dir, string file)
    {
        var s = TryRead(dir, file, out int errno);
        return s ?? throw CgroupException.Read(dir, file, errno);
    }

    /// <summary>The file's text, or null (with errno) when it cannot be read.</summary>
    public static string? TryRead(string dir, string file, out int errno) =>
        Io.FdIo.TryReadText(Path.Combine(dir, file), out errno);

    public static string? TryRead(string dir, string file) => TryRead(dir, file, out _);

    /// <summary>A one-number file ("max" reads as <see cref="ulong.MaxValue"/>); null when absent or unparsable.</summary>
    public static ulong? ReadUInt(string dir, string file)
    {
        var s = TryRead(dir, file)?.Trim();
        if (s == null) return null;
        if (s == "max") return ulong.MaxValue;
        return ulong.TryParse(s, out var v) ? v : null;
    }

    /// <summary>"key value" lines (memory.stat, cpu.stat, memory.events) as a map.</summary>
    public static Dictionary<string, ulong> ReadKeyValues(string dir, string file)
    {
        var map = new Dictionary<string, ulong>(StringComparer.Ordinal);
        var s = TryRead(dir, file);
        if (s == null) return map;
        foreach (var line in s.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 2 && ulong.TryParse(f[1], out var v)) map[f[0]] = v;
        }
        return map;
    }

    /// <summary>PIDs in one cgroup's cgroup.procs (not recursive); empty when the cgroup is gone.</summary>
    public static List<int> ReadProcs(string dir)
    {
        var list = new List<int>();
        var s = TryRead(dir, "cgroup.procs");
        if (s == null) return list;
        foreach (var line in s.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            if (int.TryParse(line, out var pid)) list.Add(pid);
        return list;
    }

    /// <summary>mkdir -p for one cgroup level; returns true when this call created it.</summary>
    public static bool MakeDir(string path)
    {
        if (LibC.mkdir(path, 0x1ED /* 0755 */) == 0) return true;
        int e = Errno.Last;
        if (e == Errno.EEXIST) return false;
        throw CgroupException.Op("mkdir", path, e);
    }

    /// <summary>
    /// Removes a cgroup directory and the cgroups under it, deepest first. rmdir on a cgroup with no processes
    /// still returns EBUSY for a moment while the last exiting tasks are released, so it retries briefly.
    /// </summary>
    public static void RemoveTree(string path, TimeSpan? patience = null)
    {
        // The common case first: a leaf with no process goes with one rmdir (listing a v1
        // cgroup's directory reads dozens of control files' entries for nothing).
        if (LibC.rmdir(path) == 0 || Errno.Last == Errno.ENOENT) return;
        if (!Directory.Exists(path)) return; // (not a directory, or gone meanwhile)
        foreach (var sub in Directory.GetDirectories(path)) RemoveTree(sub, patience);
        var deadline = DateTime.UtcNow + (patience ?? TimeSpan.FromSeconds(5));
        int delay = 5;
        while (true)
        {
            if (LibC.rmdir(path) == 0) return;
            int e = Errno.Last;
            if (e == Errno.ENOENT) return;
            if ((e != Errno.EBUSY && e != Errno.EAGAIN && e != Errno.EINTR) || DateTime.UtcNow > deadline)
                throw CgroupException.Op("rmdir", path, e);
            Thread.Sleep(delay);
            delay = Math.Min(delay * 2, 100);
        }
    }
}
