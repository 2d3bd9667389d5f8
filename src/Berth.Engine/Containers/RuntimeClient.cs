using System.Diagnostics;
using System.Text.Json;
using Berth.Runtime.Lifecycle;
using RuntimeContainer = Berth.Runtime.Lifecycle.Container;
using RuntimeException = Berth.Runtime.RuntimeException;
using RuntimeStateStore = Berth.Runtime.State.StateStore;

namespace Berth.Engine.Containers;

/// <summary>Runs berth-runtime (runc's command line) for the operations that need no stdio: start, kill, pause, ps, stats, delete.</summary>
public sealed class RuntimeClient(EngineOptions options)
{
    /// <summary>
    /// `start`. With berth-runtime, the runtime's own library does it here, in berthd: start only
    /// opens the container's exec.fifo and waits for the program's exec, and a runtime process
    /// for that costs ~7 ms of each container start (a process, the .NET start-up, the state's
    /// JSON read cold). The state and the hooks are the same code the CLI runs.
    /// </summary>
    public async Task StartAsync(string id, string stateDir)
    {
        if (!options.RuntimeIsBerth) { await RunAsync(id, stateDir, "start", id); return; }
        EngineTiming.Mark(id, "runtime start: in-process");
        await Task.Run(() =>
        {
            try { ContainerStarter.Start(RuntimeContainer.Load(new RuntimeStateStore(options.RuntimeRoot), id)); }
            catch (Exception e) when (IsRuntimeFailure(e)) { throw new RuntimeCommandException(e.Message); }
        });
        EngineTiming.Mark(id, "runtime start: done");
    }

    /// <summary>
    /// `delete --force`: after an exit (the shim hands this over to berthd: see WAIT cleanup in
    /// ShimProtocol) and of state a killed shim left. In-process with berth-runtime; the runtime
    /// CLI otherwise, or when the library cannot (then the CLI says why in the runtime log).
    /// </summary>
    public async Task ForceDeleteAsync(string id, string stateDir)
    {
        if (options.RuntimeIsBerth)
        {
            bool done = await Task.Run(() =>
            {
                try
                {
                    var store = new RuntimeStateStore(options.RuntimeRoot);
                    if (store.Exists(id)) ContainerDeleter.Delete(RuntimeContainer.Load(store, id), force: true);
                    return true;
                }
                catch (Exception e) when (IsRuntimeFailure(e)) { return false; }
            });
            EngineTiming.Mark(id, "runtime state deleted (in-process)");
            if (done) return;
        }
        try { await RunAsync(id, stateDir, "delete", "--force", id); } catch (RuntimeCommandException) { }
    }

    /// <summary>What the runtime library throws for a failed operation (anything else is a bug and propagates).</summary>
    private static bool IsRuntimeFailure(Exception e) =>
        e is RuntimeException or Berth.Linux.LinuxException or IOException or UnauthorizedAccessException;

    public async Task<string> RunAsync(string id, string stateDir, params string[] args)
    {
        string log = Path.Combine(stateDir, "runtime.log");
        Directory.CreateDirectory(stateDir);
        long from = File.Exists(log) ? new FileInfo(log).Length : 0;
        var psi = new ProcessStartInfo(options.RuntimePath)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "--root", options.RuntimeRoot, "--log", log, "--log-format", "json" }) psi.ArgumentList.Add(a);
        foreach (var a in args) psi.ArgumentList.Add(a);
        EngineTiming.Mark(id, $"runtime {args[0]}: spawn");
        using var p = Process.Start(psi) ?? throw new EngineException(500, "cannot start the runtime");
        EngineTiming.Mark(id, $"runtime {args[0]}: spawned");
        p.StandardInput.Close();
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        EngineTiming.Mark(id, $"runtime {args[0]}: exited");
        string stdout = await so, stderr = await se;
        if (p.ExitCode != 0)
        {
            string msg = LastError(log, from) ?? (stderr.Trim() != "" ? stderr.Trim() : $"runtime {args[0]} exited with status {p.ExitCode}");
            throw new RuntimeCommandException(msg);
        }
        return stdout;
    }

    internal static string? LastError(string log, long from)
    {
        try
        {
            if (!File.Exists(log)) return null;
            using var fs = File.OpenRead(log);
            fs.Seek(from, SeekOrigin.Begin);
            using var r = new StreamReader(fs);
            string? last = null;
            while (r.ReadLine() is { } line)
            {
                try
                {
                    using var d = JsonDocument.Parse(line);
                    if (d.RootElement.TryGetProperty("level", out var l) && l.GetString() is "error" or "fatal" && d.RootElement.TryGetProperty("msg", out var m))
                        last = m.GetString();
                }
                catch (JsonException) { }
            }
            return last;
        }
        catch (IOException) { return null; }
    }
}

public sealed class RuntimeCommandException(string message) : Exception(message);
