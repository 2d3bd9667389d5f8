using Berth.Linux.Cgroups;
using Berth.Oci.Runtime;
using Berth.Runtime.State;

namespace Berth.Runtime.Lifecycle;

/// <summary>An existing container as the runtime sees it between invocations: saved state plus live status.</summary>
public sealed class Container
{
    public SavedState Saved { get; }
    public StateStore Store { get; }
    private ICgroupManager? _cgroup;

    private Container(StateStore store, SavedState saved)
    {
        Store = store;
        Saved = saved;
    }

    public static Container Load(StateStore store, string id) => new(store, store.Load(id));

    /// <summary>The container whose state was just saved (create), without reading it back.</summary>
    internal static Container FromSaved(StateStore store, SavedState saved) => new(store, saved);

    public string Id => Saved.Id;

    public ICgroupManager Cgroup => _cgroup ??= CgroupManager.Reopen(Saved.CgroupPaths);

    private Spec? _config;
    private byte[]? _rawConfig;

    /// <summary>The saved config.json bytes, read on first use (the seccomp cache keys on them).</summary>
    public byte[] RawConfig => _rawConfig ??= Store.LoadRawConfig(Id);

    /// <summary>The whole config, parsed on first use (state.json holds what the common paths need).</summary>
    public Spec Config => _config ??= Store.ParseConfig(Id, RawConfig);

    /// <summary>The spec's status, derived from the kernel each time (the runtime keeps no status of its own).</summary>
    public string Status
    {
        get
        {
            if (!StateStore.InitAlive(Saved)) return "stopped";
            if (File.Exists(Store.FifoPath(Id))) return "created";
            try { if (Saved.CgroupPaths.Count > 0 && Cgroup.IsFrozen) return "paused"; }
            catch (CgroupException) { }
            return "running";
        }
    }

    public ContainerState OciState(string? status = null) => new()
    {
        Id = Id,
        Status = status ?? Status,
        Pid = Saved.Pid,
        Bundle = Saved.Bundle,
        Annotations = Saved.Annotations,
    };

    public StateReport Report()
    {
        string status = Status;
        return new StateReport
        {
            Id = Id,
            Pid = status == "stopped" ? 0 : Saved.Pid,
            Status = status,
            Bundle = Saved.Bundle,
            Rootfs = Saved.Rootfs,
            Created = Saved.Created,
            Owner = Saved.Owner,
            Annotations = Saved.Annotations,
        };
    }
}
