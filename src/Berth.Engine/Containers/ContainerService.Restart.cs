using Berth.Engine.Api;

namespace Berth.Engine.Containers;

/// <summary>
/// Restart policies (no, on-failure[:N], always, unless-stopped) with docker's back-off: the
/// delay before a restart starts at 100 ms and doubles each time up to a minute, and goes back to
/// 100 ms when the container had run for at least 10 s. While it waits the container is
/// "restarting" (State.Restarting). A user's stop, kill or remove cancels the wait. When the
/// daemon starts, `always` containers are started again, `unless-stopped` ones unless a user
/// stopped them, `on-failure` ones that failed with retries left.
/// </summary>
public sealed partial class ContainerService
{
    private static readonly TimeSpan FirstRestartDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxRestartDelay = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan ResetAfter = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Called under the container's lock right after an exit was recorded: decides whether the
    /// policy restarts it, advances the back-off and marks it restarting.
    /// </summary>
    private bool DecideRestart(Container c, int exitCode)
    {
        var policy = c.R.HostConfig.RestartPolicy ?? new RestartPolicy();
        if (policy.Name is "no" or "" || c.R.StoppedByUser || c.Removing || c.R.HostConfig.AutoRemove) return false;
        if (RanFor(c.R.State) >= ResetAfter) c.RestartDelay = TimeSpan.Zero;
        c.RestartDelay = c.RestartDelay == TimeSpan.Zero ? FirstRestartDelay : TimeSpan.FromTicks(Math.Min(c.RestartDelay.Ticks * 2, MaxRestartDelay.Ticks));
        bool restart = policy.Name switch
        {
            "always" or "unless-stopped" => true,
            "on-failure" => exitCode != 0 && (policy.MaximumRetryCount == 0 || c.R.RestartCount < policy.MaximumRetryCount),
            _ => false,
        };
        if (!restart) return false;
        c.R.RestartCount++;
        c.R.State.Restarting = true;
        c.R.State.Status = "restarting";
        return true;
    }

    private static TimeSpan RanFor(ContainerStateDto s)
    {
        if (!DateTime.TryParse(s.StartedAt, null, System.Globalization.DateTimeStyles.AdjustToUniversal, out var a)
            || !DateTime.TryParse(s.FinishedAt, null, System.Globalization.DateTimeStyles.AdjustToUniversal, out var b)) return TimeSpan.Zero;
        return b - a;
    }

    /// <summary>Starts the container again after its back-off delay unless the wait is cancelled first.</summary>
    private void ScheduleRestart(Container c, TimeSpan delay)
    {
        var cts = new CancellationTokenSource();
        c.PendingRestart?.Cancel();
        c.PendingRestart = cts;
        _ = Task.Run(async () =>
        {
            try { await Task.Delay(delay, cts.Token); }
            catch (OperationCanceledException) { return; }
            await c.Lock.WaitAsync();
            try
            {
                if (cts.IsCancellationRequested || c.Running || c.Removing) return;
                c.PendingRestart = null;
                try
                {
                    await StartLockedAsync(c);
                    Publish(c, "restart");
                }
                catch (Exception e)
                {
                    // docker leaves a container whose automatic start failed stopped, with the error
                    c.R.State.Restarting = false;
                    c.R.State.Status = "exited";
                    c.R.State.Error = e.Message;
                    Persist(c);
                }
            }
            finally { c.Lock.Release(); }
        });
    }

    /// <summary>Cancels a pending automatic restart; true if there was one. The container is then exited.</summary>
    private async Task<bool> CancelRestartAsync(Container c)
    {
        await c.Lock.WaitAsync();
        try
        {
            bool pending = c.PendingRestart is not null || c.R.State.Restarting;
            c.PendingRestart?.Cancel();
            c.PendingRestart = null;
            if (c.R.State.Restarting)
            {
                c.R.State.Restarting = false;
                if (!c.Running) c.R.State.Status = "exited";
                Persist(c);
            }
            return pending;
        }
        finally { c.Lock.Release(); }
    }

    /// <summary>On daemon start: the containers a policy starts again (docker's restore).</summary>
    private bool RestartOnDaemonStart(Container c)
    {
        var r = c.R;
        if (r.State.Running || r.HostConfig.AutoRemove || r.State.StartedAt == ContainerStateDto.ZeroTime && !r.State.Restarting) return false;
        var p = r.HostConfig.RestartPolicy ?? new RestartPolicy();
        return p.Name switch
        {
            "always" => true,
            "unless-stopped" => !r.StoppedByUser,
            "on-failure" => !r.StoppedByUser && r.State.ExitCode != 0 && (p.MaximumRetryCount == 0 || r.RestartCount < p.MaximumRetryCount),
            _ => false,
        };
    }
}
