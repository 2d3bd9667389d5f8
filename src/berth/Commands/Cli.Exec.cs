using Berth.Cli.Client;
using Berth.Cli.Terminal;

namespace Berth.Cli.Commands;

// exec: create the exec, start it on a hijacked connection, then read its exit code from /exec/{id}/json.
public sealed partial class EngineCommands
{
    private async Task<int> Exec(List<string> argv, CancellationToken ct)
    {
        var a = new Args("exec", argv, ["interactive|i", "tty|t", "detach|d", "privileged"], ["env|e", "env-file", "workdir|w", "user|u", "detach-keys"], interspersed: false);
        a.Require(2, int.MaxValue, "[OPTIONS] CONTAINER COMMAND [ARG...]");
        bool tty = a.Flag("tty"), interactive = a.Flag("interactive"), detach = a.Flag("detach");
        if (tty && interactive && !detach && !RawTerminal.IsTerminal(0)) throw new CliException("the input device is not a TTY");
        var env = new List<string>();
        foreach (var f in a.Values("env-file")) env.AddRange(ValueParsers.KeyValueFile(f, fromEnvironment: true));
        foreach (var e in a.Values("env"))
        {
            if (e.Contains('=')) env.Add(e);
            else if (Environment.GetEnvironmentVariable(e) is { } v) env.Add($"{e}={v}");
        }
        List<int>? console = tty && !detach ? RawTerminal.Size() is { } sz ? [sz.Rows, sz.Cols] : [0, 0] : null;
        var body = new ExecCreateBody
        {
            User = a.Value("user") ?? "", Privileged = a.Flag("privileged"), Tty = tty,
            AttachStdin = interactive && !detach, AttachStdout = !detach, AttachStderr = !detach, Detach = detach,
            DetachKeys = a.Value("detach-keys") ?? "", Env = env.Count > 0 ? env : null, WorkingDir = a.Value("workdir") ?? "",
            Cmd = a.Positional.Skip(1).ToList(), ConsoleSize = console,
        };
        var c = await ClientAsync(ct);
        string container = a.Positional[0];
        using (var info = await c.GetJsonAsync($"/containers/{Esc(container)}/json", ct))
        {
            var state = Obj(info.RootElement, "State");
            if (Bool(state, "Paused")) throw new DaemonException(409, $"Container {container} is paused, unpause the container before exec");
            if (!Bool(state, "Running")) throw new DaemonException(409, $"container {Str(info.RootElement, "Id")} is not running");
        }
        string execId;
        using (var r = await c.SendAsync(HttpMethod.Post, $"/containers/{Esc(container)}/exec", DockerClient.JsonBody(Serialize(body, CliJsonContext.Default.ExecCreateBody)), ct: ct))
        using (var doc = System.Text.Json.JsonDocument.Parse(await r.Content.ReadAsByteArrayAsync(ct)))
            execId = Str(doc.RootElement, "Id");

        var start = Serialize(new ExecStartBody { Detach = detach, Tty = tty, ConsoleSize = console }, CliJsonContext.Default.ExecStartBody);
        using var conn = await c.HijackAsync($"/exec/{execId}/start", start, ct);
        if (detach) return 0;
        byte[] keys = a.Value("detach-keys") is { } dk ? StreamPump.ParseDetachKeys(dk) : StreamPump.DefaultDetachKeys;
        if (await Session(conn, tty, interactive, keys, (h, w) => c.PostAsync($"/exec/{execId}/resize?h={h}&w={w}", ct: CancellationToken.None), ct)) return 0;
        using var result = await c.GetJsonAsync($"/exec/{execId}/json", ct);
        return (int)Num(result.RootElement, "ExitCode");
    }
}
