using System.Net.Sockets;
using System.Text;
using Berth.Engine.Api;
using Berth.Engine.Containers.Health;
using Berth.Engine.Shim;

namespace Berth.Engine.Containers;

/// <summary>
/// Health checks: while a container with a Healthcheck runs, its test command runs through the
/// exec path on each interval (the start interval while it is starting within the start period).
/// Exit 0 is healthy; anything else (or a timeout, exit -1) adds to the failing streak, and at
/// Retries failures the status is unhealthy; failures inside the start period do not count while
/// the container has never been healthy. Each change of status is a "health_status: S" event.
/// </summary>
public sealed partial class ContainerService
{
    private void StartHealthMonitor(Container c)
    {
        StopHealthMonitor(c);
        var h = c.R.Config.Healthcheck;
        if (!HealthcheckSettings.Enabled(h)) { c.R.State.Health = null; return; }
        var state = c.R.State.Health ??= new HealthState();
        state.Status = "starting";
        state.FailingStreak = 0;
        var cts = new CancellationTokenSource();
        c.HealthMonitor = cts;
        _ = Task.Run(() => HealthLoopAsync(c, h!, cts.Token));
    }

    private static void StopHealthMonitor(Container c)
    {
        c.HealthMonitor?.Cancel();
        c.HealthMonitor = null;
    }

    private async Task HealthLoopAsync(Container c, HealthConfig h, CancellationToken ct)
    {
        var interval = HealthcheckSettings.Or(h.Interval, HealthcheckSettings.DefaultInterval);
        var startInterval = HealthcheckSettings.Or(h.StartInterval, HealthcheckSettings.DefaultStartInterval);
        var startPeriod = HealthcheckSettings.Or(h.StartPeriod, TimeSpan.Zero);
        var timeout = HealthcheckSettings.Or(h.Timeout, HealthcheckSettings.DefaultTimeout);
        int retries = h.Retries > 0 ? h.Retries : HealthcheckSettings.DefaultRetries;
        var started = DateTime.UtcNow;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                bool inStart = DateTime.UtcNow - started < startPeriod && c.R.State.Health?.Status == "starting";
                await Task.Delay(inStart ? startInterval : interval, ct);
                if (!c.Running || c.R.State.Paused) continue;
                var begin = DateTime.UtcNow;
                var (code, output) = await ProbeAsync(c, HealthcheckSettings.Command(h), timeout, ct);
                var end = DateTime.UtcNow;
                string? changed = null;
                await c.Lock.WaitAsync(ct);
                try
                {
                    if (ct.IsCancellationRequested || c.R.State.Health is not { } hs) return;
                    string before = hs.Status;
                    hs.Log.Add(new HealthLogEntry { Start = Rfc3339(begin), End = Rfc3339(end), ExitCode = code, Output = output });
                    if (hs.Log.Count > HealthcheckSettings.MaxLogEntries) hs.Log.RemoveRange(0, hs.Log.Count - HealthcheckSettings.MaxLogEntries);
                    if (code == 0) { hs.FailingStreak = 0; hs.Status = "healthy"; }
                    else if (!(hs.Status == "starting" && begin - started < startPeriod))
                    {
                        hs.FailingStreak++;
                        if (hs.FailingStreak >= retries) hs.Status = "unhealthy";
                    }
                    if (hs.Status != before) changed = hs.Status;
                    Persist(c, durable: false); // a probe result need not survive a machine crash

                }
                finally { c.Lock.Release(); }
                if (changed is not null) Publish(c, "health_status: " + changed);
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>One probe through the exec path: exit code and output (at most 4 KiB); -1 when it ran out of time.</summary>
    private async Task<(int Code, string Output)> ProbeAsync(Container c, List<string> cmd, TimeSpan timeout, CancellationToken ct)
    {
        ExecSession e;
        try { e = CreateExec(c, new ExecCreateRequest { Cmd = cmd, AttachStdout = true, AttachStderr = true }); }
        catch (EngineException ex) { return (-1, ex.Message); }
        var output = new MemoryStream();
        int code = -1;
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(timeout);
            Socket s;
            try { s = await StartExecAsync(e, new ExecStartRequest()); }
            catch (EngineException ex) { return (e.ExitCode ?? -1, ex.Message); }
            using var stream = new NetworkStream(s, ownsSocket: true);
            try
            {
                while (await ShimClient.ReadFrameAsync(stream, limit.Token) is { } f)
                {
                    if (f.Kind == ShimProtocol.Exit)
                    {
                        code = int.Parse(Encoding.ASCII.GetString(f.Data).Split(' ')[0]);
                        break;
                    }
                    if (output.Length < HealthcheckSettings.MaxOutputLength)
                        output.Write(f.Data, 0, (int)Math.Min(f.Data.Length, HealthcheckSettings.MaxOutputLength - output.Length));
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                if (e.Pid > 0) Berth.Linux.Interop.LibC.kill(e.Pid, 9);
                return (-1, $"Health check exceeded timeout ({FormatDuration(timeout)})");
            }
            FinishExec(e, code);
        }
        finally
        {
            // probes are not kept as exec instances (docker does not list them either)
            lock (c.Execs) c.Execs.Remove(e.Id);
            _execs.TryRemove(e.Id, out _);
        }
        return (code, Encoding.UTF8.GetString(output.ToArray()));
    }

    private static string FormatDuration(TimeSpan t) =>
        t.TotalSeconds >= 1 && t.TotalSeconds == Math.Floor(t.TotalSeconds) ? $"{(int)t.TotalSeconds}s" : $"{t.TotalMilliseconds}ms";

    /// <summary>What `docker ps` appends to "Up ...": " (healthy)", " (unhealthy)", " (health: starting)".</summary>
    internal static string HealthSuffix(Container c) => c.R.State.Health?.Status switch
    {
        "healthy" => " (healthy)",
        "unhealthy" => " (unhealthy)",
        "starting" => " (health: starting)",
        _ => "",
    };

    /// <summary>The ps filter's value: starting, healthy, unhealthy or none.</summary>
    internal static string HealthFilterValue(Container c) => c.R.State.Health?.Status ?? "none";
}
