using System.Text;
using Berth.Engine.Shim;
using Berth.Linux.Interop;
using Berth.Linux.Io;

namespace Berth.Shim;

/// <summary>
/// The shim's state: the init, its exec'd processes, the log and the listening socket.
/// Threads in the steady state: the main one (the reaper), the acceptor, one output pump per
/// process, and one writer per attached client; a WAIT (berthd's monitor) holds no thread.
/// </summary>
public sealed unsafe class Shim
{
    private readonly ShimOptions _o;
    private readonly int _listener;
    private readonly Dictionary<string, ShimProcess> _execs = new();
    private readonly string _runtimeLog;
    private JsonFileLogWriter? _log;
    private int _consoleSeq;
    public ShimProcess? Init { get; private set; }

    public Shim(ShimOptions o)
    {
        _o = o;
        Directory.CreateDirectory(o.StateDir);
        _runtimeLog = Path.Combine(o.StateDir, "runtime.log");
        Directory.CreateDirectory(Path.GetDirectoryName(o.Socket)!);
        LibC.unlink(o.Socket);
        _listener = Native.ListenUnix(o.Socket, 64);
        LibC.chmod(o.Socket, 0x180);
    }

    public void CreateContainer()
    {
        if (_o.Log != "") _log = new JsonFileLogWriter(_o.Log, _o.LogMaxSize, _o.LogMaxFile);
        string pidFile = Path.Combine(_o.StateDir, "init.pid");
        LibC.unlink(pidFile);
        var p = Spawn("init", ["create", "--bundle", _o.Bundle, "--pid-file", pidFile], pidFile, _o.Tty, _o.Stdin, _log, execId: null);
        Init = p;
        if (_o.Tty && _o.Height > 0 && _o.Width > 0) p.Resize(_o.Height, _o.Width);
    }

    public void CleanupAfterFailedCreate()
    {
        RunRuntime(["delete", "--force", _o.Id]);
        Umount();
        LibC.close(_listener);
        LibC.unlink(_o.Socket);
    }

    /// <summary>
    /// Runs the runtime (create, or exec -d) with the process's stdio and waits for it. The
    /// process it leaves behind is returned with its outputs set but not yet pumped, so the caller
    /// can subscribe its client first. <paramref name="execId"/> null means the init: the main
    /// thread, before the reaper loop runs, so it reaps the runtime itself.
    /// </summary>
    private ShimProcess Spawn(string name, List<string> runtimeArgs, string pidFile, bool tty, bool stdin, JsonFileLogWriter? log, string? execId)
    {
        int console = -1;
        string? consolePath = null;
        if (tty)
        {
            // sun_path holds 108 bytes: the console socket goes beside the shim socket under a short name.
            consolePath = Path.Combine(Path.GetDirectoryName(_o.Socket)!, $"c-{LibC.getpid()}-{Interlocked.Increment(ref _consoleSeq)}.sock");
            LibC.unlink(consolePath);
            console = Native.ListenUnix(consolePath, 1);
            runtimeArgs.InsertRange(1, ["--console-socket", consolePath]);
            if (execId is not null) runtimeArgs.Insert(1, "-t");
        }
        runtimeArgs.Add(_o.Id);
        long logStart = Native.FileSize(_runtimeLog);
        ShimTiming.Mark($"runtime {runtimeArgs[0]}: spawn");
        var sp = new ShimProcess(name, tty, log);
        int errRead;
        int pid;
        if (!tty)
        {
            var i = Spawner.Pipe();
            var o = Spawner.Pipe();
            var e = Spawner.Pipe();
            try { pid = Spawner.Spawn(_o.Runtime, RuntimeArgs(runtimeArgs), i.Read, o.Write, e.Write); }
            catch { foreach (int fd in new[] { i.Read, i.Write, o.Read, o.Write, e.Read, e.Write }) LibC.close(fd); throw; }
            LibC.close(i.Read); LibC.close(o.Write); LibC.close(e.Write);
            sp.StdinFd = i.Write;
            if (!stdin) sp.CloseStdin();
            sp.SetOutputs([o.Read, e.Read], [ShimProtocol.Stdout, ShimProtocol.Stderr]);
            errRead = e.Read;
        }
        else
        {
            int nul = LibC.open("/dev/null", O.RDWR | O.CLOEXEC, 0);
            var e = Spawner.Pipe();
            try { pid = Spawner.Spawn(_o.Runtime, RuntimeArgs(runtimeArgs), nul, e.Write, e.Write); }
            finally { LibC.close(nul); LibC.close(e.Write); }
            errRead = e.Read;
        }
        ShimTiming.Mark($"runtime {runtimeArgs[0]}: spawned");
        var (code, master) = WaitRuntime(pid, direct: execId is null, console);
        ShimTiming.Mark($"runtime {runtimeArgs[0]}: exited");
        if (console >= 0) { LibC.close(console); LibC.unlink(consolePath!); }
        if (code != 0 || tty && master < 0)
        {
            string errText = ReadAvailable(errRead).Trim();
            if (tty) LibC.close(errRead);
            sp.CloseStdin(force: true);
            sp.CloseOutputs();
            if (master >= 0) LibC.close(master);
            throw new InvalidOperationException(LastRuntimeError(logStart)
                ?? (errText != "" ? errText : code != 0 ? $"runtime exited with status {code}" : "the runtime did not send the console"));
        }
        if (tty)
        {
            LibC.close(errRead);
            sp.PtyFd = master;
            sp.StdinFd = master;
            sp.SetOutputs([master], [ShimProtocol.Stdout]);
        }
        sp.Pid = int.Parse(Encoding.ASCII.GetString(Native.ReadFile(pidFile) ?? []).Trim());
        return sp;
    }

    /// <summary>Waits for the runtime to exit, accepting the pty master on the console socket meanwhile.</summary>
    private static (int Code, int Master) WaitRuntime(int pid, bool direct, int console)
    {
        ExitBox? box = null;
        if (!direct) { box = new ExitBox(); Reaper.Watch(pid, box.Set); }
        if (console < 0) return (direct ? Reaper.WaitDirect(pid) : box!.Wait(Timeout.Infinite)!.Value, -1);
        int master = -1;
        int? code = null;
        long giveUp = long.MaxValue;
        while (master < 0)
        {
            var pfd = new PollFd { Fd = console, Events = Native.POLLIN };
            if (LibC.poll(&pfd, 1, 20) > 0)
            {
                int c = Native.Accept(console);
                if (c >= 0)
                {
                    try { master = FdPassing.Receive(c); } catch (Exception) { }
                    LibC.close(c);
                }
                continue;
            }
            code ??= direct ? TryWaitDirect(pid) : box!.Value;
            if (code is not null)
            {
                // exited: a failed runtime never connects; a successful one has connected already
                if (code != 0) break;
                if (giveUp == long.MaxValue) giveUp = Environment.TickCount64 + 2000;
                else if (Environment.TickCount64 > giveUp) break;
            }
        }
        code ??= direct ? Reaper.WaitDirect(pid) : box!.Wait(Timeout.Infinite)!.Value;
        return (code.Value, master);
    }

    private static int? TryWaitDirect(int pid)
    {
        int status;
        return LibC.waitpid(pid, &status, 1 /* WNOHANG */) == pid ? Reaper.Code(status) : null;
    }

    private static string ReadAvailable(int fd)
    {
        LibC.fcntl(fd, 4 /* F_SETFL */, O.NONBLOCK);
        var buf = new byte[8192];
        int n = Native.Read(fd, buf);
        return n > 0 ? Encoding.UTF8.GetString(buf, 0, n) : "";
    }

    private List<string> RuntimeArgs(List<string> args) => ["--root", _o.RuntimeRoot, "--log", _runtimeLog, "--log-format", "json", .. args];

    /// <summary>Runs a runtime command to its end with no stdio (delete at the end of the container's life).</summary>
    private void RunRuntime(List<string> args)
    {
        try
        {
            int nul = LibC.open("/dev/null", O.RDWR | O.CLOEXEC, 0);
            int pid;
            try { pid = Spawner.Spawn(_o.Runtime, RuntimeArgs(args), nul, nul, nul); }
            finally { LibC.close(nul); }
            Reaper.WaitDirect(pid);
        }
        catch (Exception e) { Native.Log($"runtime {string.Join(' ', args)}: {e.Message}"); }
    }

    /// <summary>The last error message the runtime wrote to its json log after <paramref name="from"/>.</summary>
    private string? LastRuntimeError(long from)
    {
        var bytes = Native.ReadFile(_runtimeLog, from);
        if (bytes is null) return null;
        string? last = null;
        foreach (var line in Encoding.UTF8.GetString(bytes).Split('\n'))
        {
            if (!line.Contains("\"level\":\"error\"", StringComparison.Ordinal) && !line.Contains("\"level\":\"fatal\"", StringComparison.Ordinal)) continue;
            if (MiniJson.StringField(line, "msg") is { } m) last = m;
        }
        return last;
    }

    private void Umount()
    {
        if (_o.RootfsUmount is { } r) LibC.umount2(r, MNT.DETACH);
    }

    /// <summary>Serves connections until the init has exited and been recorded, then cleans up and returns.</summary>
    public void Run()
    {
        var init = Init!;
        init.StartPump();
        new Thread(AcceptLoop) { IsBackground = true, Name = "accept" }.Start();
        int code = Reaper.RunUntil(init.Pid);
        long at = Native.NowUnixNs();
        ShimTiming.Mark("init reaped");
        // The process is gone; its output ends when every holder of the pipes has closed them.
        init.WaitPumps(3000);
        ShimTiming.Mark("output drained");
        bool oom = code == 137 && OomKills() > 0;
        var final = new ExitResult(code, oom, at);
        // Every line of output is on disk before anyone can learn of the exit (docker wait; then docker logs).
        _log?.Flush();
        WriteExitFile(final);
        // The runtime's state and the rootfs mount go before anyone learns of the exit: a start that
        // follows at once (docker restart, a restart policy) mounts the same path and creates the same
        // id again, and a cleanup of ours after that detached its new root (its create then found an
        // empty directory: exec "sleep" not found) or deleted its new runtime state.
        ShimTiming.Mark("exit file written");
        // berthd's monitor, when it asked, takes the cleanup over (it is told first, and does it
        // before anything can start the container again); otherwise it is done here.
        if (!init.HandOverCleanup(final))
        {
            RunRuntime(["delete", "--force", _o.Id]);
            ShimTiming.Mark("runtime delete done");
            Umount();
        }
        init.Finish(final);
        ShimTiming.Mark("exit reported");
        ShimTiming.Flush();
        _log?.Dispose();
        init.DrainSubscribers(3000);
        LibC.unlink(_o.Socket);
        Native.shutdown(_listener, Native.SHUT_RDWR);
    }

    private long OomKills()
    {
        if (_o.OomFile is null || Native.ReadFile(_o.OomFile) is not { } b) return 0;
        foreach (var line in Encoding.ASCII.GetString(b).Split('\n'))
            if (line.StartsWith("oom_kill ", StringComparison.Ordinal) && long.TryParse(line[9..], out var n)) return n;
        return 0;
    }

    private void WriteExitFile(ExitResult r)
    {
        string at = JsonFileLogWriter.Rfc3339Nano(r.AtUnixNs);
        string json = $"{{\"exitCode\":{r.Code},\"oomKilled\":{(r.Oom ? "true" : "false")},\"exitedAtUnixNano\":{r.AtUnixNs},\"exitedAt\":\"{at}\"}}\n";
        try { Native.WriteFileAtomic(_o.ExitFile, Encoding.ASCII.GetBytes(json)); }
        catch (Exception e) { Native.Log(e.Message); }
    }

    private void AcceptLoop()
    {
        while (true)
        {
            int c = Native.Accept(_listener);
            if (c < 0) return;
            try { Serve(c); }
            catch (Exception e) { Native.Log($"connection: {e.Message}"); LibC.close(c); }
        }
    }

    /// <summary>Answers short requests on the acceptor thread; ATTACH and EXEC get a thread of their own.</summary>
    private void Serve(int c)
    {
        string? line = Native.ReadLine(c);
        if (line is null) { LibC.close(c); return; }
        var w = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var init = Init!;
        switch (w.Length > 0 ? w[0] : "")
        {
            case "STATE":
                {
                    var e = init.Result;
                    Native.SendLine(c, e is null ? $"running {init.Pid} -1" : $"stopped {init.Pid} {e.Value.Code}");
                    LibC.close(c);
                    break;
                }
            case "WAIT" when w.Length > 1 && w[1] == "cleanup":
                init.AddCleanupTaker(c);
                break;
            case "WAIT":
                init.AddWaiter(c);
                break;
            case "ATTACH":
                {
                    bool stdin = w.Length > 1 && w[1] == "1";
                    new Thread(() => init.Attach(c, stdin)) { IsBackground = true, Name = "attach-in" }.Start();
                    break;
                }
            case "RESIZE" when w.Length >= 3:
                {
                    ShimProcess? target = init;
                    if (w.Length > 3) lock (_execs) target = _execs.GetValueOrDefault(w[3]);
                    string? err = target is null ? $"no such exec {w[3]}" : target.Resize(ushort.Parse(w[1]), ushort.Parse(w[2]));
                    Native.SendLine(c, err is null ? ShimProtocol.Ok : $"{ShimProtocol.Err} {err}");
                    LibC.close(c);
                    break;
                }
            case "EXEC" when w.Length >= 5:
                {
                    string execId = w[1], file = string.Join(' ', w.Skip(4));
                    bool tty = w[2] == "1", stdin = w[3] == "1";
                    new Thread(() => Exec(c, execId, tty, stdin, file)) { IsBackground = true, Name = "exec" }.Start();
                    break;
                }
            case "EXECSTATE" when w.Length >= 2:
                {
                    ShimProcess? ex;
                    lock (_execs) ex = _execs.GetValueOrDefault(w[1]);
                    Native.SendLine(c, ex is null ? "unknown 0 -1" : ex.Result is { } r ? $"exited {ex.Pid} {r.Code}" : $"running {ex.Pid} -1");
                    LibC.close(c);
                    break;
                }
            default:
                Native.SendLine(c, $"{ShimProtocol.Err} unknown request {line}");
                LibC.close(c);
                break;
        }
    }

    private void Exec(int c, string execId, bool tty, bool stdin, string processFile)
    {
        if (Init!.Result is not null) { Native.SendLine(c, $"{ShimProtocol.Err} container is not running"); LibC.close(c); return; }
        string pidFile = Path.Combine(_o.StateDir, $"exec-{execId}.pid");
        ShimProcess p;
        try { p = Spawn("exec-" + execId, ["exec", "--process", processFile, "-d", "--pid-file", pidFile], pidFile, tty, stdin, null, execId); }
        catch (Exception e)
        {
            Native.SendLine(c, $"{ShimProtocol.Err} {e.Message.Replace('\n', ' ')}");
            LibC.close(c);
            return;
        }
        finally { LibC.unlink(pidFile); }
        lock (_execs) _execs[execId] = p;
        var exited = new ExitBox();
        Reaper.Watch(p.Pid, exited.Set);
        Native.SendLine(c, $"{ShimProtocol.Ok} {p.Pid}");
        p.Attach(c, stdin, sayOk: false, readOnNewThread: true);
        p.StartPump();
        int code = exited.Wait(Timeout.Infinite)!.Value;
        long at = Native.NowUnixNs();
        p.WaitPumps(3000);
        p.Finish(new ExitResult(code, false, at));
        p.DrainSubscribers(3000);
        // An exec's output went through the heap as frames: give that memory back, the shim
        // lives on as long as the container.
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }
}
