namespace Berth.Linux.Processes;

/// <summary>Reads a process's state and start time from /proc/PID/stat (start time detects pid reuse).</summary>
public readonly record struct ProcStat(char State, ulong StartTime)
{
    public bool IsAlive => State != 'Z' && State != 'X';

    public static ProcStat? Read(int pid)
    {
        // (FdIo, not File.ReadAllText: FileStream and StreamReader would be most of the cost of
        // `state`, which asks this once.)
        if (Io.FdIo.TryReadText($"/proc/{pid}/stat", out _) is not { Length: > 0 } text) return null;
        // The command name is in parentheses and may itself contain spaces or ')'.
        int close = text.LastIndexOf(')');
        if (close < 0) return null;
        var fields = text[(close + 2)..].Split(' ');
        // fields[0] is field 3 (state); start time is field 22.
        if (fields.Length < 20) return null;
        return new ProcStat(fields[0][0], ulong.Parse(fields[19]));
    }
}
