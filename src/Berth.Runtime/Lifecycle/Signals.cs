namespace Berth.Runtime.Lifecycle;

/// <summary>Signal names and numbers as `kill` accepts them: KILL, SIGKILL, 9.</summary>
public static class Signals
{
    private static readonly string[] Names =
    {
        "", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM",
        "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF",
        "WINCH", "IO", "PWR", "SYS",
    };

    public static int Parse(string text)
    {
        if (int.TryParse(text, out int n))
        {
            if (n is > 0 and <= 64) return n;
            throw new RuntimeException($"invalid signal \"{text}\"");
        }
        string name = text.ToUpperInvariant();
        if (name.StartsWith("SIG", StringComparison.Ordinal)) name = name[3..];
        if (name == "IOT") return 6;
        if (name == "CLD") return 17;
        if (name == "POLL") return 29;
        int i = Array.IndexOf(Names, name);
        if (i > 0) return i;
        if (name.StartsWith("RTMIN", StringComparison.Ordinal) && ParseOffset(name[5..], out int a)) return 34 + a;
        if (name.StartsWith("RTMAX", StringComparison.Ordinal) && ParseOffset(name[5..], out int b)) return 64 + b;
        throw new RuntimeException($"unknown signal \"{text}\"");
    }

    private static bool ParseOffset(string s, out int v)
    {
        v = 0;
        return s.Length == 0 || int.TryParse(s, out v);
    }
}
