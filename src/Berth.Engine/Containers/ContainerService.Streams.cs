using System.Net.Sockets;
using System.Text.Json;
using Berth.Engine.Api;
using Berth.Engine.Shim;
using Berth.Oci;
using Berth.Oci.Runtime;

namespace Berth.Engine.Containers;

public sealed partial class ContainerService
{
    /// <summary>Options of one attach or exec stream as the client asked for it.</summary>
    public sealed record StreamOptions(bool Tty, bool Stdin, bool Stdout, bool Stderr, bool CloseStdinOnEof);

    /// <summary>
    /// Attaches a hijacked client connection to the container: at once if it runs, else when it
    /// next starts (attach comes before start in `docker run`). Returns when the output has ended.
    /// </summary>
    public async Task AttachAsync(Container c, Stream client, StreamOptions so, Func<Task> registered, CancellationToken ct)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool wired = false;
        async Task Wire(ShimClient shim)
        {
            var s = await shim.ConnectAsync($"ATTACH {(so.Stdin ? 1 : 0)}");
            var line = await ShimClient.ReadLineAsync(s);
            if (line != ShimProtocol.Ok) { s.Dispose(); done.TrySetResult(); return; }
            Volatile.Write(ref wired, true);
            _ = Task.Run(async () =>
            {
                try { await PumpAsync(s, client, so, ct); }
                finally { done.TrySetResult(); }
            });
        }
        await c.Lock.WaitAsync(ct);
        try
        {
            if (c.Running && c.Shim is { } shim) await Wire(shim);
            else c.PendingAttaches.Add(Wire);
            // Only now may the client learn the attach took (it sends start right after the 101).
            await registered();
        }
        finally { c.Lock.Release(); }
        using var reg = ct.Register(() => done.TrySetResult());
        var removed = c.Removed.Task;
        // run --rm: the removal can be over before this stream has passed on the last output (the
        // shim tells berthd of the exit first, and the removal no longer waits for much), so a wired
        // stream gets to its end (the shim closes it after the exit frame). Removed before it ever
        // started: nothing will come.
        if (await Task.WhenAny(done.Task, removed) == removed && Volatile.Read(ref wired))
            await Task.WhenAny(done.Task, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None));
    }

    /// <summary>Copies shim frames to the client (raw for a TTY, docker's multiplexed frames otherwise) and client bytes to stdin. Returns the exit code.</summary>
    internal static async Task<int> PumpAsync(Socket shim, Stream client, StreamOptions so, CancellationToken ct)
    {
        using var shimStream = new NetworkStream(shim, ownsSocket: true);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var writeLock = new SemaphoreSlim(1, 1);
        var input = Task.Run(async () =>
        {
            var buf = new byte[32 * 1024];
            try
            {
                while (true)
                {
                    int n = await client.ReadAsync(buf, cts.Token);
                    if (n == 0) break;
                    if (!so.Stdin) continue;
                    await writeLock.WaitAsync(cts.Token);
                    try { await shimStream.WriteAsync(ShimClient.Frame(ShimProtocol.Stdin, buf.AsSpan(0, n)), cts.Token); }
                    finally { writeLock.Release(); }
                }
                // As docker: a TTY's stdin stays open when the client goes (it may have detached with ctrl-p ctrl-q).
                if (so.Stdin && so.CloseStdinOnEof && !so.Tty)
                    await shimStream.WriteAsync(ShimClient.Frame(ShimProtocol.CloseStdin, []), cts.Token);
            }
            catch (Exception) { /* the client half-closed or went away; output goes on */ }
        });
        int code = -1;
        try
        {
            while (await ShimClient.ReadFrameAsync(shimStream, cts.Token) is { } f)
            {
                if (f.Kind == ShimProtocol.Exit)
                {
                    code = int.Parse(System.Text.Encoding.ASCII.GetString(f.Data).Split(' ')[0]);
                    break;
                }
                if (f.Kind == ShimProtocol.Stdout && !so.Stdout || f.Kind == ShimProtocol.Stderr && !so.Stderr) continue;
                if (so.Tty) await client.WriteAsync(f.Data, cts.Token);
                else await client.WriteAsync(ShimClient.Frame(f.Kind, f.Data), cts.Token);
                await client.FlushAsync(cts.Token);
            }
        }
        catch (Exception) { }
        cts.Cancel();
        return code;
    }

    // ---- exec ----

    public ExecSession CreateExec(Container c, ExecCreateRequest req)
    {
        if (!c.Running) throw EngineException.Conflict($"container {c.Id} is not running");
        if (c.R.State.Paused) throw EngineException.Conflict($"Container {c.Id} is paused, unpause the container before exec");
        if (req.Cmd is not { Count: > 0 }) throw EngineException.BadRequest("No exec command specified");
        var e = new ExecSession { Id = NewId(), ContainerId = c.Id, Config = req };
        lock (c.Execs) c.Execs[e.Id] = e;
        _execs[e.Id] = e;
        Publish(c, $"exec_create: {string.Join(' ', req.Cmd)}", new() { ["execID"] = e.Id });
        return e;
    }

    public ExecSession GetExec(string id) =>
        _execs.TryGetValue(id, out var e) ? e : throw EngineException.NotFound($"No such exec instance: {id}");

    /// <summary>Starts an exec'd process through the shim; returns the shim connection carrying its stdio.</summary>
    public async Task<Socket> StartExecAsync(ExecSession e, ExecStartRequest start)
    {
        var c = Get(e.ContainerId);
        if (e.Started) throw EngineException.Conflict($"Error: Exec command {e.Id} has already run");
        if (!c.Running || c.Shim is not { } shim) throw EngineException.Conflict($"container {c.Id} is not running");
        e.Started = true;
        string bundle = BundleDir(c.Id);
        var cfg = e.Config;
        var (uid, gid, groups) = SpecBuilder.ResolveUser(Path.Combine(bundle, "rootfs"), cfg.User != "" ? cfg.User : c.R.Config.User);
        var caps = cfg.Privileged ? SpecBuilder.Capabilities(new HostConfig { Privileged = true }) : SpecBuilder.Capabilities(c.R.HostConfig);
        var env = MergeEnv(c.R.Config.Env, cfg.Env);
        bool tty = cfg.Tty;
        var p = new Process
        {
            Terminal = tty,
            User = new User { Uid = uid, Gid = gid, AdditionalGids = groups.Count > 0 ? groups : null },
            Args = cfg.Cmd!,
            Env = tty && !env.Any(x => x.StartsWith("TERM=", StringComparison.Ordinal)) ? [.. env, "TERM=xterm"] : env,
            Cwd = cfg.WorkingDir != "" ? cfg.WorkingDir : c.R.Config.WorkingDir != "" ? c.R.Config.WorkingDir : "/",
            Capabilities = new Capabilities { Bounding = caps, Effective = caps, Permitted = caps },
            NoNewPrivileges = c.R.HostConfig.SecurityOpt?.Any(s => s.StartsWith("no-new-privileges", StringComparison.Ordinal)) == true,
        };
        var size = start.ConsoleSize ?? cfg.ConsoleSize;
        if (tty && size is [var h, var w] && h > 0 && w > 0) p.ConsoleSize = new ConsoleSize { Height = (uint)h, Width = (uint)w };
        string file = Path.Combine(bundle, $"exec-{e.Id[..16]}.json");
        File.WriteAllBytes(file, JsonSerializer.SerializeToUtf8Bytes(p, OciJsonContext.Default.Process));
        var s = await shim.ConnectAsync($"EXEC {e.Id[..16]} {(tty ? 1 : 0)} {(cfg.AttachStdin ? 1 : 0)} {file}");
        var line = await ShimClient.ReadLineAsync(s) ?? "ERR the shim closed the connection";
        if (!line.StartsWith(ShimProtocol.Ok + " ", StringComparison.Ordinal))
        {
            s.Dispose();
            e.ExitCode = line.Contains("not found") || line.Contains("no such file") ? 127 : 126;
            e.Exited.TrySetResult(e.ExitCode.Value);
            throw new EngineException(e.ExitCode == 127 ? 404 : 500, $"OCI runtime exec failed: {line[Math.Min(4, line.Length)..]}: unknown");
        }
        e.Pid = int.Parse(line.Split(' ')[1]);
        e.Running = true;
        Publish(c, $"exec_start: {string.Join(' ', cfg.Cmd!)}", new() { ["execID"] = e.Id });
        return s;
    }

    public void FinishExec(ExecSession e, int code)
    {
        e.Running = false;
        e.ExitCode = code < 0 ? 137 : code;
        e.Exited.TrySetResult(e.ExitCode.Value);
        if (TryGet(e.ContainerId, out var c)) Publish(c!, "exec_die", new() { ["execID"] = e.Id, ["exitCode"] = e.ExitCode.Value.ToString() });
    }

    public async Task ResizeAsync(Container c, int h, int w, string? execId = null)
    {
        if (!c.Running || c.Shim is not { } shim) throw EngineException.Conflict($"Container {c.Id} is not running");
        var line = await shim.RequestAsync(execId is null ? $"RESIZE {h} {w}" : $"RESIZE {h} {w} {execId[..16]}");
        if (line != ShimProtocol.Ok && execId is null && c.R.Config.Tty) throw new EngineException(500, line.Length > 4 ? line[4..] : line);
    }
}
