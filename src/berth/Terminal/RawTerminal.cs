using System.Runtime.InteropServices;

namespace Berth.Cli.Terminal;

/// <summary>
/// Puts the local terminal (stdin) into raw mode for <c>-it</c> and puts it back on every way out:
/// Dispose, process exit, and SIGINT/SIGTERM/SIGHUP/SIGQUIT (restored before the default action).
/// </summary>
public sealed partial class RawTerminal : IDisposable
{
    // struct termios on Linux: 4 flag words, c_line, c_cc[32], speeds: 60 bytes; keep room.
    private const int TermiosSize = 64;
    private static byte[]? _saved;
    private static readonly Lock Gate = new();
    private readonly List<PosixSignalRegistration> _signals = [];

    public static bool IsTerminal(int fd) => isatty(fd) == 1;

    private RawTerminal() { }

    public static unsafe RawTerminal Enter()
    {
        var t = new RawTerminal();
        var saved = new byte[TermiosSize];
        fixed (byte* p = saved)
            if (tcgetattr(0, p) != 0) throw new IOException($"tcgetattr: {Marshal.GetLastPInvokeErrorMessage()}");
        var raw = (byte[])saved.Clone();
        fixed (byte* p = raw)
        {
            cfmakeraw(p);
            lock (Gate) _saved = saved;
            if (tcsetattr(0, 0 /* TCSANOW */, p) != 0) throw new IOException($"tcsetattr: {Marshal.GetLastPInvokeErrorMessage()}");
        }
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Restore();
        foreach (var sig in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGQUIT })
            t._signals.Add(PosixSignalRegistration.Create(sig, _ => Restore())); // not cancelled: the default action follows
        return t;
    }

    public static unsafe void Restore()
    {
        lock (Gate)
        {
            if (_saved is null) return;
            fixed (byte* p = _saved) tcsetattr(0, 0, p);
            _saved = null;
        }
    }

    public void Dispose()
    {
        Restore();
        foreach (var s in _signals) s.Dispose();
    }

    /// <summary>The terminal size of stdout (else stdin), or null when neither is a terminal.</summary>
    public static unsafe (int Rows, int Cols)? Size()
    {
        ushort* ws = stackalloc ushort[4];
        foreach (int fd in new[] { 1, 0, 2 })
            if (ioctl(fd, 0x5413 /* TIOCGWINSZ */, ws) == 0 && ws[0] > 0) return (ws[0], ws[1]);
        return null;
    }

    [LibraryImport("libc", SetLastError = true)] private static unsafe partial int tcgetattr(int fd, byte* termios);
    [LibraryImport("libc", SetLastError = true)] private static unsafe partial int tcsetattr(int fd, int action, byte* termios);
    [LibraryImport("libc")] private static unsafe partial void cfmakeraw(byte* termios);
    [LibraryImport("libc")] private static partial int isatty(int fd);
    [LibraryImport("libc", SetLastError = true)] private static unsafe partial int ioctl(int fd, nuint request, ushort* arg);
}
