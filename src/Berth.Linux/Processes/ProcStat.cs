namespace Berth.Linux.Processes;

/// <summary>Reads a process's state and start time from /proc/PID/stat (start time detects pid reuse).</summary>
public readonly record struct ProcStat(char State, ulong StartTime)
{
    public bool IsAlive => State != 'Z' && State != 'X';

    public static unsafe ProcStat? Read(int pid)
    {
        // One open and read (the line is < 1 KB): FileStream and StreamReader would be most of
        // the cost of `state`, which asks this once.
        int fd = Interop.LibC.open($"/proc/{pid}/stat", Interop.O.RDONLY | Interop.O.CLOEXEC, 0);
        if (fd < 0) return null;
        byte* buf = stackalloc byte[1024];
        nint n;
        try
        {
            do n = Interop.LibC.read(fd, buf, 1024);
            while (n < 0 && Interop.Errno.Last == Interop.Errno.EINTR);
        }
        finally { Interop.LibC.close(fd); }
        if (n <= 0) return null;
        string text = System.Text.Encoding.UTF8.GetString(buf, (int)n);
        // The command name is in parentheses and may itself contain spaces or ')'.
        int close = text.LastIndexOf(')');
        if (close < 0) return null;
        var fields = text[(close + 2)..].Split(' ');
        // fields[0] is field 3 (state); start time is field 22.
        if (fields.Length < 20) return null;
        return new ProcStat(fields[0][0], ulong.Parse(fields[19]));
    }
}
