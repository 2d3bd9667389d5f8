using System.Text;
using Berth.Engine.Shim;
using Berth.Linux.Interop;

namespace Berth.Shim;

/// <summary>
/// berth-shim: one per running container. It creates the container through the runtime with
/// stdio it holds (pipes, or a pty received over a console socket), writes the json-file log,
/// reaps the init and the exec'd processes (it is their subreaper), records the exit code in an
/// exit file, and serves the engine over a unix socket. It runs in a session of its own, so it
/// outlives berthd; when the init has exited and been recorded it deletes the container from the
/// runtime, unmounts the root filesystem and exits.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        ShimTiming.Mark("start");
        ShimOptions o;
        try { o = ShimOptions.Parse(args); }
        catch (ArgumentException e) { Say($"{ShimProtocol.Err} {e.Message}"); return 2; }

        LibC.setsid();
        LibC.prctl(PR.SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        // A client or a container stdin that goes away is an error return, not a signal.
        Native.signal(13 /* SIGPIPE */, 1 /* SIG_IGN */);
        Shim shim;
        string? error = null;
        try
        {
            shim = new Shim(o);
            try { shim.CreateContainer(); }
            catch (Exception e) { error = e.Message.Replace('\n', ' '); }
        }
        catch (Exception e) { Say($"{ShimProtocol.Err} {e.Message.Replace('\n', ' ')}"); return 1; }
        if (error is not null)
        {
            Say($"{ShimProtocol.Err} {error}");
            shim.CleanupAfterFailedCreate();
            return 1;
        }
        ShimTiming.Mark("created");
        Say($"{ShimProtocol.Ok} {shim.Init!.Pid}");
        DetachStdio(Path.Combine(o.StateDir, "shim.log"));
        ShimTiming.Flush();
        shim.Run();
        return 0;
    }

    /// <summary>The one line berthd reads from the shim's stdout.</summary>
    private static void Say(string line) => Native.WriteAll(1, Encoding.UTF8.GetBytes(line + "\n"), socket: false);

    /// <summary>Points 0 at /dev/null and 1, 2 at the shim's own log, so berthd's pipe is released.</summary>
    private static void DetachStdio(string logPath)
    {
        int nul = LibC.open("/dev/null", O.RDWR | O.CLOEXEC, 0);
        int log = LibC.open(logPath, O.WRONLY | O.CREAT | O.APPEND | O.CLOEXEC, 0x180);
        if (nul >= 0) { LibC.dup3(nul, 0, 0); LibC.close(nul); }
        if (log >= 0) { LibC.dup3(log, 1, 0); LibC.dup3(log, 2, 0); LibC.close(log); }
    }
}

public sealed class ShimOptions
{
    public string Id = "", Bundle = "", Runtime = "", RuntimeRoot = "", Socket = "", Log = "", ExitFile = "", StateDir = "";
    public string? RootfsUmount, OomFile;
    public bool Tty, Stdin;
    public long LogMaxSize = -1;
    public int LogMaxFile = 1;
    public ushort Height, Width;

    public static ShimOptions Parse(string[] args)
    {
        var o = new ShimOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--id": o.Id = Next(); break;
                case "--bundle": o.Bundle = Next(); break;
                case "--runtime": o.Runtime = Next(); break;
                case "--runtime-root": o.RuntimeRoot = Next(); break;
                case "--socket": o.Socket = Next(); break;
                case "--log": o.Log = Next(); break;
                case "--exit-file": o.ExitFile = Next(); break;
                case "--state-dir": o.StateDir = Next(); break;
                case "--rootfs-umount": o.RootfsUmount = Next(); break;
                case "--oom-file": o.OomFile = Next(); break;
                case "--tty": o.Tty = true; break;
                case "--stdin": o.Stdin = true; break;
                case "--log-max-size": o.LogMaxSize = long.Parse(Next()); break;
                case "--log-max-file": o.LogMaxFile = int.Parse(Next()); break;
                case "--console-size":
                    var hw = Next().Split('x');
                    o.Height = ushort.Parse(hw[0]); o.Width = ushort.Parse(hw[1]);
                    break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        if (o.Id == "" || o.Bundle == "" || o.Runtime == "" || o.Socket == "" || o.StateDir == "" || o.ExitFile == "")
            throw new ArgumentException("--id, --bundle, --runtime, --socket, --state-dir and --exit-file are required");
        return o;
    }
}
