using Berth.Engine.Api;
using Berth.Engine.Shim;

namespace Berth.Engine.Containers;

/// <summary>A container in memory: its persisted record plus what only the running daemon knows.</summary>
public sealed class Container
{
    public ContainerRecord R { get; }
    public SemaphoreSlim Lock { get; } = new(1, 1);
    public ShimClient? Shim { get; set; }
    /// <summary>Completed at every exit (replaced when the container starts again).</summary>
    public TaskCompletionSource<int> ExitSignal { get; set; } = NewSignal();
    public TaskCompletionSource Removed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>Attach sessions that arrived before start; wired to the shim right after the runtime created the init.</summary>
    public List<Func<ShimClient, Task>> PendingAttaches { get; } = [];
    public Dictionary<string, ExecSession> Execs { get; } = new();
    public bool Removing { get; set; }
    public CancellationTokenSource? Monitor { get; set; }
    /// <summary>The listeners of its published ports while it runs.</summary>
    public List<Berth.Engine.Networks.PortProxy>? Proxies { get; set; }
    /// <summary>Its embedded DNS server (127.0.0.11) while it runs on a user network.</summary>
    public Berth.Engine.Networks.EmbeddedDns? Dns { get; set; }
    /// <summary>docker's create warnings (answered once, not kept).</summary>
    public List<string> CreateWarnings { get; set; } = [];
    /// <summary>The pending automatic restart (its back-off wait); cancelled by stop, kill and remove.</summary>
    public CancellationTokenSource? PendingRestart { get; set; }
    /// <summary>docker's restart back-off: 0 before the first restart, then 100 ms doubling to 1 min.</summary>
    public TimeSpan RestartDelay { get; set; }
    /// <summary>The health probe loop of the running container.</summary>
    public CancellationTokenSource? HealthMonitor { get; set; }

    public Container(ContainerRecord r) { R = r; }
    public string Id => R.Id;
    public string ShortId => R.Id[..12];
    public bool Running => R.State.Running;

    public static TaskCompletionSource<int> NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>An exec instance (docker's exec id), created by POST /containers/{id}/exec.</summary>
public sealed class ExecSession
{
    public string Id { get; init; } = "";
    public string ContainerId { get; init; } = "";
    public ExecCreateRequest Config { get; init; } = new();
    public bool Running { get; set; }
    public bool Started { get; set; }
    public int? ExitCode { get; set; }
    public int Pid { get; set; }
    public TaskCompletionSource<int> Exited { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
