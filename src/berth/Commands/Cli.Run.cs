using System.Runtime.InteropServices;
using System.Text.Json;
using Berth.Cli.Client;
using Berth.Cli.Terminal;
using Berth.Images.References;

namespace Berth.Cli.Commands;

// run, create, start, attach: docker's order is create -> attach -> wait -> start, so no output is lost
// and the exit status is known even for --rm (wait?condition=removed answers after the removal).
public sealed partial class EngineCommands
{
    private async Task<int> Run(List<string> argv, CancellationToken ct)
    {
        var f = RunFlags.Parse("run", argv);
        if (f.Detach && f.A.Values("attach").Count > 0) throw new UsageException("Conflicting options: -a and -d");
        bool stdinIsTerminal = RawTerminal.IsTerminal(0);
        if (f.Tty && f.Interactive && !stdinIsTerminal) throw new CliException("the input device is not a TTY");
        var body = f.ToBody(forRun: true);
        if (f.Tty && RawTerminal.Size() is { } size) body.HostConfig.ConsoleSize = [size.Rows, size.Cols];
        var c = await ClientAsync(ct);
        string id = await CreateContainer(c, body, f.Name, f.A.Value("platform"), f.A.Value("pull") ?? "missing", f.A.Flag("quiet"), ct);
        if (f.A.Value("cidfile") is { } cidfile) await File.WriteAllTextAsync(cidfile, id, ct);

        if (f.Detach)
        {
            await StartOrExit(c, id, ct, f.AutoRemove);
            Out.WriteLine(id);
            return 0;
        }

        HijackedConnection? conn = null;
        if (body.AttachStdin || body.AttachStdout || body.AttachStderr)
        {
            string q = DockerClient.Query(("stream", "1"), ("stdin", body.AttachStdin ? "1" : null),
                ("stdout", body.AttachStdout ? "1" : null), ("stderr", body.AttachStderr ? "1" : null));
            conn = await c.HijackAsync($"/containers/{id}/attach{q}", null, ct);
        }
        using var _ = conn;
        using var wait = await c.SendAsync(HttpMethod.Post, $"/containers/{id}/wait?condition={(f.AutoRemove ? "removed" : "next-exit")}", streaming: true, ct: ct);
        // docker's --sig-proxy (default true, not with a TTY): our SIGINT/SIGTERM go to the container.
        if (!f.Tty && !argv.TakeWhile(x => x != f.Image).Contains("--sig-proxy=false"))
            Program.SignalProxy = sig => c.PostAsync($"/containers/{id}/kill?signal={sig}", ct: CancellationToken.None).ContinueWith(t => t.Exception, TaskScheduler.Default);
        await StartOrExit(c, id, ct, f.AutoRemove);
        if (conn is not null)
        {
            byte[]? keys = f.A.Value("detach-keys") is { } dk ? StreamPump.ParseDetachKeys(dk) : StreamPump.DefaultDetachKeys;
            bool detached = await Session(conn, f.Tty, body.AttachStdin, keys,
                (h, w) => c.PostAsync($"/containers/{id}/resize?h={h}&w={w}", ct: CancellationToken.None), ct);
            if (detached) return 0;
        }
        return await WaitStatus(wait, ct);
    }

    private async Task<int> Create(List<string> argv, CancellationToken ct)
    {
        var f = RunFlags.Parse("create", argv);
        var body = f.ToBody(forRun: false);
        if (f.Tty && RawTerminal.Size() is { } size) body.HostConfig.ConsoleSize = [size.Rows, size.Cols];
        var c = await ClientAsync(ct);
        string id = await CreateContainer(c, body, f.Name, f.A.Value("platform"), f.A.Value("pull") ?? "missing", f.A.Flag("quiet"), ct);
        if (f.A.Value("cidfile") is { } cidfile) await File.WriteAllTextAsync(cidfile, id, ct);
        Out.WriteLine(id);
        return 0;
    }

    /// <summary>POST /containers/create; an image that is not there is pulled first (docker's "Unable to find image").</summary>
    private async Task<string> CreateContainer(DockerClient c, CreateBody body, string? name, string? platform, string pull, bool quiet, CancellationToken ct)
    {
        if (!ImageReference.TryParse(body.Image, out var reference, out var refError) && !ImageReference.LooksLikeId(body.Image))
            throw new CliException(refError ?? "invalid reference format", 125);
        if (pull is not ("missing" or "always" or "never")) throw new UsageException($"invalid pull option: '{pull}': must be one of \"always\", \"missing\" or \"never\"");
        string shown = reference?.Familiar ?? body.Image;
        if (pull == "always") await PullImage(c, body.Image, platform, quiet, Err, ct);
        byte[] json = Serialize(body, CliJsonContext.Default.CreateBody);
        string q = DockerClient.Query(("name", name), ("platform", platform));
        JsonDocument created;
        try
        {
            using var r = await c.SendAsync(HttpMethod.Post, "/containers/create" + q, DockerClient.JsonBody(json), ct: ct);
            created = JsonDocument.Parse(await r.Content.ReadAsByteArrayAsync(ct));
        }
        catch (DaemonException e) when (e.Status == 404 && e.Message.Contains("No such image", StringComparison.OrdinalIgnoreCase) && pull != "never" && reference is not null)
        {
            Err.WriteLine($"Unable to find image '{shown}' locally");
            Err.Flush();
            await PullImage(c, body.Image, platform, quiet, Err, ct);
            using var r = await c.SendAsync(HttpMethod.Post, "/containers/create" + q, DockerClient.JsonBody(json), ct: ct);
            created = JsonDocument.Parse(await r.Content.ReadAsByteArrayAsync(ct));
        }
        using (created)
        {
            if (Obj(created.RootElement, "Warnings") is { ValueKind: JsonValueKind.Array } warnings)
                foreach (var w in warnings.EnumerateArray()) Err.WriteLine($"WARNING: {w.GetString()}");
            return Str(created.RootElement, "Id");
        }
    }

    /// <summary>
    /// Starts a container; a start failure ends the command with docker's 126/127/125, and with
    /// --rm removes the container that never ran (dockerd does that itself; berthd may not yet).
    /// </summary>
    private async Task StartOrExit(DockerClient c, string id, CancellationToken ct, bool autoRemove = false)
    {
        try { await c.PostAsync($"/containers/{id}/start", ct: ct); }
        catch (DaemonException e)
        {
            Err.WriteLine($"berth: Error response from daemon: {OneLine(e.Message)}");
            if (autoRemove)
            {
                try { using var _ = await c.SendAsync(HttpMethod.Delete, $"/containers/{id}?force=1", ct: CancellationToken.None); }
                catch (DaemonException) { } // already gone
            }
            throw new ExitException(StartFailureCode(e.Message));
        }
    }

    /// <summary>docker's exit codes for a process that could not be started: 127 not found, 126 not runnable, else 125.</summary>
    public static int StartFailureCode(string message)
    {
        if (message.Contains("executable file not found", StringComparison.OrdinalIgnoreCase) || message.Contains("no such file or directory", StringComparison.OrdinalIgnoreCase))
            return 127;
        if (message.Contains("permission denied", StringComparison.OrdinalIgnoreCase) || message.Contains("is a directory", StringComparison.OrdinalIgnoreCase))
            return 126;
        return 125;
    }

    private static async Task<int> WaitStatus(HttpResponseMessage wait, CancellationToken ct)
    {
        string text = await wait.Content.ReadAsStringAsync(ct);
        if (text.Trim().Length == 0) throw new CliException("the daemon ended the wait without a status", 125);
        using var doc = JsonDocument.Parse(text);
        if (Obj(doc.RootElement, "Error") is { ValueKind: JsonValueKind.Object } err && Str(err, "Message") is { Length: > 0 } m)
            throw new CliException(m, 125);
        return (int)Num(doc.RootElement, "StatusCode");
    }

    /// <summary>
    /// Moves a hijacked stream's bytes until the daemon closes it: raw terminal mode when stdin is a
    /// terminal and the container has one (restored on every exit), the window size now and on
    /// SIGWINCH, our stdin to it (or a half-close at once when there is none). True when the user
    /// typed the detach keys.
    /// </summary>
    private async Task<bool> Session(HijackedConnection conn, bool tty, bool sendStdin, byte[]? detachKeys, Func<int, int, Task>? resize, CancellationToken ct)
    {
        Out.Flush();
        Err.Flush();
        RawTerminal? term = null;
        PosixSignalRegistration? winch = null;
        try
        {
            if (tty && sendStdin && RawTerminal.IsTerminal(0)) term = RawTerminal.Enter();
            if (tty && resize is not null && RawTerminal.Size() is { } s)
            {
                await Resize(resize, s);
                winch = PosixSignalRegistration.Create(PosixSignal.SIGWINCH, ctx =>
                {
                    ctx.Cancel = true;
                    if (RawTerminal.Size() is { } now) _ = Resize(resize, now);
                });
            }
            var output = StreamPump.CopyOutputAsync(conn, tty, _stdout, _stderr, ct);
            if (!sendStdin)
            {
                conn.CloseWrite();
                await output;
                return false;
            }
            var stdin = Program.StdStream(0);
            var input = Task.Run(() => StreamPump.CopyInputAsync(stdin, conn, tty ? detachKeys : null, ct), ct);
            var first = await Task.WhenAny(output, input);
            if (first == input && !input.IsFaulted && input.Result)
            {
                term?.Dispose();
                term = null;
                Err.Write("\r\n");
                Err.Flush();
                return true;
            }
            await output;
            return false;
        }
        finally
        {
            winch?.Dispose();
            term?.Dispose();
        }
    }

    private static async Task Resize(Func<int, int, Task> resize, (int Rows, int Cols) s)
    {
        try { await resize(s.Rows, s.Cols); }
        catch (DaemonException) { } // the process may have ended meanwhile
        catch (HttpRequestException) { }
    }

    private async Task<int> Start(List<string> argv, CancellationToken ct)
    {
        var a = new Args("start", argv, ["attach|a", "interactive|i"], ["detach-keys", "checkpoint", "checkpoint-dir"]);
        a.Require(1, int.MaxValue, "[OPTIONS] CONTAINER [CONTAINER...]");
        var c = await ClientAsync(ct);
        if (!a.Flag("attach") && !a.Flag("interactive"))
            return await ForEach(a.Positional, async id => await c.PostAsync($"/containers/{Esc(id)}/start", ct: ct));
        if (a.Positional.Count > 1) throw new UsageException("you cannot start and attach multiple containers at once");
        using var info = await c.GetJsonAsync($"/containers/{Esc(a.Positional[0])}/json", ct);
        var cfg = Obj(info.RootElement, "Config");
        string id = Str(info.RootElement, "Id");
        bool tty = Bool(cfg, "Tty");
        bool stdin = a.Flag("interactive") && Bool(cfg, "OpenStdin");
        if (tty && stdin && !RawTerminal.IsTerminal(0)) throw new CliException("the input device is not a TTY");
        string q = DockerClient.Query(("stream", "1"), ("stdin", stdin ? "1" : null), ("stdout", "1"), ("stderr", "1"));
        using var conn = await c.HijackAsync($"/containers/{id}/attach{q}", null, ct);
        using var wait = await c.SendAsync(HttpMethod.Post, $"/containers/{id}/wait?condition=next-exit", streaming: true, ct: ct);
        await StartOrExit(c, id, ct);
        byte[] keys = a.Value("detach-keys") is { } dk ? StreamPump.ParseDetachKeys(dk) : StreamPump.DefaultDetachKeys;
        if (await Session(conn, tty, stdin, keys, (h, w) => c.PostAsync($"/containers/{id}/resize?h={h}&w={w}", ct: CancellationToken.None), ct)) return 0;
        return await WaitStatus(wait, ct);
    }

    private async Task<int> Attach(List<string> argv, CancellationToken ct)
    {
        var a = new Args("attach", argv, ["no-stdin", "sig-proxy"], ["detach-keys"]);
        a.Require(1, 1, "[OPTIONS] CONTAINER");
        var c = await ClientAsync(ct);
        using var info = await c.GetJsonAsync($"/containers/{Esc(a.Positional[0])}/json", ct);
        var state = Obj(info.RootElement, "State");
        string id = Str(info.RootElement, "Id");
        if (!Bool(state, "Running")) throw new CliException("You cannot attach to a stopped container, start it first");
        if (Bool(state, "Paused")) throw new CliException("You cannot attach to a paused container, unpause it first");
        var cfg = Obj(info.RootElement, "Config");
        bool tty = Bool(cfg, "Tty");
        bool stdin = !a.Flag("no-stdin") && Bool(cfg, "OpenStdin");
        if (tty && stdin && !RawTerminal.IsTerminal(0)) throw new CliException("the input device is not a TTY");
        string q = DockerClient.Query(("stream", "1"), ("stdin", stdin ? "1" : null), ("stdout", "1"), ("stderr", "1"));
        using var conn = await c.HijackAsync($"/containers/{id}/attach{q}", null, ct);
        byte[] keys = a.Value("detach-keys") is { } dk ? StreamPump.ParseDetachKeys(dk) : StreamPump.DefaultDetachKeys;
        if (await Session(conn, tty, stdin, keys, (h, w) => c.PostAsync($"/containers/{id}/resize?h={h}&w={w}", ct: CancellationToken.None), ct)) return 0;
        // The stream ends when the container does: its exit code is ours.
        using var wait = await c.SendAsync(HttpMethod.Post, $"/containers/{id}/wait", streaming: true, ct: ct);
        return await WaitStatus(wait, ct);
    }
}
