using Berth.Linux.Cgroups.Stats;
using Berth.Oci.Runtime;

namespace Berth.Linux.Cgroups.V2;

/// <summary>A container cgroup on a pure cgroup v2 host: one directory in the unified hierarchy.</summary>
public sealed class CgroupV2Manager : CgroupManagerBase
{
    public CgroupV2Manager(CgroupLayout layout, IEnumerable<CgroupDirectory> dirs) : base(layout, dirs)
    {
        if (Directories.Count != 1 || !Directories[0].Hierarchy.IsV2)
            throw new ArgumentException("a v2 manager needs exactly one cgroup2 directory");
    }

    public override bool IsV2 => true;

    /// <summary>The cgroup's host directory.</summary>
    public string Dir => Directories[0].HostPath;

    public override void Create() =>
        // Each parent on the way down must pass its controllers on, or the leaf has no memory.max, cpu.max, ...
        MakePath(Directories[0], (parent, _) => SubtreeControl.EnableAll(parent));

    public override void CreateV2Directory() => Create();

    public override void Apply(LinuxResources resources)
    {
        V2ResourceWriter.Apply(Dir, resources);
        if (resources.Devices is { Count: > 0 } devices) DeviceFilter.Apply(Dir, devices);
    }

    public override void Freeze(TimeSpan? timeout = null) => V2Freezer.Freeze(Dir, timeout ?? TimeSpan.FromSeconds(10));
    public override void Thaw() => V2Freezer.Thaw(Dir);
    public override bool IsFrozen => V2Freezer.IsFrozen(Dir);

    public override CgroupStats Stats() => V2StatsReader.Read(Dir);

    public override ulong OomKillCount() =>
        CgroupFiles.ReadKeyValues(Dir, "memory.events").GetValueOrDefault("oom_kill");
}
