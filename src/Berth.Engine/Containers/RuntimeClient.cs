using System.Diagnostics;
using System.Text.Json;

namespace Berth.Engine.Containers;

/// <summary>Runs berth-runtime (runc's command line) for the operations that need no stdio: start, kill, pause, ps, stats, delete.</summary>
public sealed class RuntimeClient(EngineOptions options)
{
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
