using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Berth.Engine.Shim;
using Berth.Linux.Interop;
using Berth.Linux.Io;

namespace Berth.Shim;

/// <summary>The shim's state: the init, its exec'd processes, the log and the listening socket.</summary>
public sealed class Shim
{
    private readonly ShimOptions _o;
    private readonly Socket _listener;
    private readonly ConcurrentDictionary<string, ShimProcess> _execs = new();
    private readonly string _runtimeLog;
    private JsonFileLogWriter? _log;
    public ShimProcess? Init { get; private set; }

    public Shim(ShimOptions o)
    {
        _o = o;
        Directory.CreateDirectory(o.StateDir);
        _runtimeLog = Path.Combine(o.StateDir, "runtime.log");
        Directory.CreateDirectory(Path.GetDirectoryName(o.Socket)!);
        File.Delete(o.Socket);
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(o.Socket));
        File.SetUnixFileMode(o.Socket, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _listener.Listen(64);
    }

    public void CreateContainer()
    {
        if (_o.Log != "") _log = new JsonFileLogWriter(_o.Log, _o.LogMaxSize, _o.LogMaxFile);
        string pidFile = Path.Combine(_o.StateDir, "init.pid");
        File.Delete(pidFile);
        var p = Spawn("init", ["create", "--bundle", _o.Bundle, "--pid-file", pidFile], pidFile, _o.Tty, _o.Stdin, _log, execId: null);
        Init = p;
        if (_o.Tty && _o.Height > 0 && _o.Width > 0) p.Resize(_o.Height, _o.Width);
    }

    public void CleanupAfterFailedCreate()
    {
        RunRuntime(["delete", "--force", _o.Id]);
        Umount();
        try { _listener.Dispose(); File.Delete(_o.Socket); } catch (IOException) { }
    }

    /// <summary>
    /// Runs the runtime (create, or exec -d) with the process's stdio, waits for it, and starts
    /// the output pumps and the reaper for the process it left behind.
    /// </summary>
    private ShimProcess Spawn(string name, List<string> runtimeArgs, string pidFile, bool tty, bool stdin, JsonFileLogWriter? log, string? execId)
    {
        Socket? console = null;
        string? consolePath = null;
        if (tty)
        {
            // sun_path holds 108 bytes: the console socket goes beside the shim socket under a short name.
            consolePath = Path.Combine(Path.GetDirectoryName(_o.Socket)!, $"c-{Guid.NewGuid().ToString("N")[..12]}.sock");
            File.Delete(consolePath);
            console = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            console.Bind(new UnixDomainSocketEndPoint(consolePath));
            console.Listen(1);
            runtimeArgs.InsertRange(1, ["--console-socket", consolePath]);
            if (execId is not null) runtimeArgs.Insert(1, "-t");
        }
        runtimeArgs.Add(_o.Id);
        long logStart = File.Exists(_runtimeLog) ? new FileInfo(_runtimeLog).Length : 0;
        var psi = RuntimeStartInfo(runtimeArgs);
        using var proc = Process.Start(psi)!;
        Task<Socket>? accept = console?.AcceptAsync();
        var sp = new ShimProcess(name, tty, log);
        if (!tty)
        {
            sp.Stdin = proc.StandardInput.BaseStream;
            if (!stdin) { sp.CloseStdin(); }
            sp.AddOutput(proc.StandardOutput.BaseStream, ShimProtocol.Stdout);
            sp.AddOutput(proc.StandardError.BaseStream, ShimProtocol.Stderr);
        }
        string errText = "";
        Task<string>? errRead = tty ? proc.StandardError.ReadToEndAsync() : null;
        if (tty) proc.StandardInput.Close();
        proc.WaitForExit();
        if (tty && errRead!.Wait(2000)) errText = errRead.Result;
        if (proc.ExitCode != 0)
        {
            console?.Dispose();
            if (consolePath is not null) File.Delete(consolePath);
            string msg = LastRuntimeError(logStart) ?? (errText.Trim() != "" ? errText.Trim() : $"runtime exited with status {proc.ExitCode}");
            sp.AbortPumps();
            throw new InvalidOperationException(msg);
        }
        if (tty)
        {
            if (!accept!.Wait(5000)) throw new InvalidOperationException("the runtime did not send the console");
            using var conn = accept.Result;
            int master = FdPassing.Receive((int)conn.Handle);
            console!.Dispose();
            File.Delete(consolePath!);
            var pty = new PtyStream(master);
            sp.Pty = pty;
            sp.Stdin = pty;
            sp.AddOutput(pty, ShimProtocol.Stdout);
        }
        int pid = int.Parse(File.ReadAllText(pidFile).Trim());
        sp.Start(pid);
        return sp;
    }

    private ProcessStartInfo RuntimeStartInfo(List<string> args)
    {
        var psi = new ProcessStartInfo(_o.Runtime)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "--root", _o.RuntimeRoot, "--log", _runtimeLog, "--log-format", "json" }) psi.ArgumentList.Add(a);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    private void RunRuntime(List<string> args)
    {
        try
        {
            var psi = RuntimeStartInfo(args);
            using var p = Process.Start(psi)!;
            p.StandardInput.Close();
            var so = p.StandardOutput.ReadToEndAsync();
            var se = p.StandardError.ReadToEndAsync();
            p.WaitForExit();
            Task.WaitAll(so, se);
        }
        catch (Exception e) { Console.Error.WriteLine($"runtime {string.Join(' ', args)}: {e.Message}"); }
    }

    /// <summary>The last error message the runtime wrote to its json log after <paramref name="from"/>.</summary>
    private string? LastRuntimeError(long from)
    {
        try
        {
            if (!File.Exists(_runtimeLog)) return null;
            using var fs = File.OpenRead(_runtimeLog);
            fs.Seek(from, SeekOrigin.Begin);
            string? last = null;
            using var r = new StreamReader(fs);
            while (r.ReadLine() is { } line)
            {
                try
                {
                    using var d = JsonDocument.Parse(line);
                    if (d.RootElement.TryGetProperty("level", out var l) && l.GetString() is "error" or "fatal"
                        && d.RootElement.TryGetProperty("msg", out var m)) last = m.GetString();
                }
                catch (JsonException) { }
            }
            return last;
        }
        catch (IOException) { return null; }
    }

    private void Umount()
    {
        if (_o.RootfsUmount is { } r) LibC.umount2(r, MNT.DETACH);
    }

    /// <summary>Serves connections until the init has exited and been recorded, then cleans up and returns.</summary>
    public void Run()
    {
        var init = Init!;
        _ = Task.Run(AcceptLoop);
        var result = init.Exited.Task.GetAwaiter().GetResult();
        bool oom = result.Code == 137 && OomKills() > 0;
        var final = result with { Oom = oom };
        // Every line of output is on disk before anyone can learn of the exit (docker wait; then docker logs).
        _log?.Flush();
        WriteExitFile(final);
        init.Finish(final);
        _log?.Dispose();
        RunRuntime(["delete", "--force", _o.Id]);
        Umount();
        init.DrainSubscribers(TimeSpan.FromSeconds(3));
        try { File.Delete(_o.Socket); } catch (IOException) { }
        _listener.Dispose();
    }

    private long OomKills()
    {
        try
        {
            if (_o.OomFile is null || !File.Exists(_o.OomFile)) return 0;
            foreach (var line in File.ReadAllLines(_o.OomFile))
                if (line.StartsWith("oom_kill ", StringComparison.Ordinal)) return long.Parse(line[9..]);
        }
        catch (Exception) { }
        return 0;
    }

    private void WriteExitFile(ExitResult r)
    {
        string at = DateTimeOffset.FromUnixTimeMilliseconds(r.AtUnixNs / 1_000_000).UtcDateTime.AddTicks(r.AtUnixNs % 1_000_000 / 100).ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ");
        string json = $"{{\"exitCode\":{r.Code},\"oomKilled\":{(r.Oom ? "true" : "false")},\"exitedAtUnixNano\":{r.AtUnixNs},\"exitedAt\":\"{at}\"}}\n";
        string tmp = _o.ExitFile + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write))
        {
            fs.Write(Encoding.ASCII.GetBytes(json));
            fs.Flush(true);
        }
        File.Move(tmp, _o.ExitFile, true);
    }

    private async Task AcceptLoop()
    {
        while (true)
        {
            Socket c;
            try { c = await _listener.AcceptAsync(); }
            catch (Exception) { return; }
            _ = Task.Run(() => Serve(c));
        }
    }

    private async Task Serve(Socket c)
    {
        try
        {
            var stream = new NetworkStream(c, ownsSocket: false);
            string? line = await ReadLine(stream);
            if (line is null) { c.Dispose(); return; }
            var w = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var init = Init!;
            switch (w[0])
            {
                case "STATE":
                    {
                        var e = init.Result;
                        string s = e is null ? $"running {init.Pid} -1" : $"stopped {init.Pid} {e.Value.Code}";
                        await Reply(c, s);
                        c.Dispose();
                        break;
                    }
                case "WAIT":
                    {
                        var e = await init.Finished.Task;
                        await Reply(c, $"EXIT {e.Code} {(e.Oom ? 1 : 0)} {e.AtUnixNs}");
                        c.Dispose();
                        break;
                    }
                case "ATTACH":
                    init.Attach(c, stream, w.Length > 1 && w[1] == "1");
                    break;
                case "RESIZE":
                    {
                        var target = w.Length > 3 ? (_execs.TryGetValue(w[3], out var ex) ? ex : null) : init;
                        if (target is null) await Reply(c, $"{ShimProtocol.Err} no such exec {w[3]}");
                        else
                        {
                            string? err = target.Resize(ushort.Parse(w[1]), ushort.Parse(w[2]));
                            await Reply(c, err is null ? ShimProtocol.Ok : $"{ShimProtocol.Err} {err}");
                        }
                        c.Dispose();
                        break;
                    }
                case "EXEC":
                    await Exec(c, stream, w[1], w[2] == "1", w[3], string.Join(' ', w.Skip(4)));
                    break;
                case "EXECSTATE":
                    {
                        string s = _execs.TryGetValue(w[1], out var ex)
                            ? (ex.Result is { } r ? $"exited {ex.Pid} {r.Code}" : $"running {ex.Pid} -1")
                            : "unknown 0 -1";
                        await Reply(c, s);
                        c.Dispose();
                        break;
                    }
                default:
                    await Reply(c, $"{ShimProtocol.Err} unknown request {w[0]}");
                    c.Dispose();
                    break;
            }
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"connection: {e.Message}");
            c.Dispose();
        }
    }

    private async Task Exec(Socket c, NetworkStream stream, string execId, bool tty, string stdinFlag, string processFile)
    {
        bool stdin = stdinFlag == "1";
        if (Init!.Result is not null) { await Reply(c, $"{ShimProtocol.Err} container is not running"); c.Dispose(); return; }
        string pidFile = Path.Combine(_o.StateDir, $"exec-{execId}.pid");
        ShimProcess p;
        try
        {
            p = await Task.Run(() => Spawn("exec-" + execId, ["exec", "--process", processFile, "-d", "--pid-file", pidFile], pidFile, tty, stdin, null, execId));
        }
        catch (Exception e)
        {
            await Reply(c, $"{ShimProtocol.Err} {e.Message.Replace('\n', ' ')}");
            c.Dispose();
            return;
        }
        finally { File.Delete(pidFile); }
        _execs[execId] = p;
        await Reply(c, $"{ShimProtocol.Ok} {p.Pid}");
        p.Attach(c, stream, stdin, sayOk: false);
        _ = p.Exited.Task.ContinueWith(t => p.Finish(t.Result));
    }

    private static async Task Reply(Socket c, string line) =>
        await c.SendAsync(Encoding.UTF8.GetBytes(line + "\n"), SocketFlags.None);

    private static async Task<string?> ReadLine(Stream s)
    {
        var sb = new List<byte>();
        var b = new byte[1];
        while (true)
        {
            int n = await s.ReadAsync(b);
            if (n == 0) return sb.Count == 0 ? null : Encoding.UTF8.GetString(sb.ToArray());
            if (b[0] == '\n') return Encoding.UTF8.GetString(sb.ToArray());
            sb.Add(b[0]);
            if (sb.Count > 8192) return null;
        }
    }
}

public readonly record struct ExitResult(int Code, bool Oom, long AtUnixNs);
