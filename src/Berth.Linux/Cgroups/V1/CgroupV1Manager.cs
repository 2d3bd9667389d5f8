using Berth.Linux.Cgroups.Stats;
using Berth.Linux.Cgroups.V2;
using Berth.Oci.Runtime;

namespace Berth.Linux.Cgroups.V1;

/// <summary>
/// A container cgroup on a v1 (or hybrid) host: one directory per mounted hierarchy, including named ones such as
/// name=systemd and, on hybrid hosts, the cgroup2 "unified" hierarchy (so the container's processes show up there
/// too, which systemd and cgroup-aware programs inside expect).
/// </summary>
public sealed class CgroupV1Manager : CgroupManagerBase
{
    public CgroupV1Manager(CgroupLayout layout, IEnumerable<CgroupDirectory> dirs) : base(layout, dirs) { }

    public override bool IsV2 => false;

    private string? Dir(string controller) =>
        Directories.FirstOrDefault(d => !d.Hierarchy.IsV2 && d.Hierarchy.Has(controller))?.HostPath;

    private string? UnifiedDir => Directories.FirstOrDefault(d => d.Hierarchy.IsV2)?.HostPath;

    public override void Create()
    {
        foreach (var d in Directories)
        {
            // The hybrid unified directory only records membership; its controllers are left as the host set them
            // (enabling one there would also keep it from ever being mounted as v1).
            if (d.Hierarchy.IsV2) MakePath(d);
            else if (d.Hierarchy.Has("cpuset")) MakePath(d, InheritCpuset);
            else MakePath(d);
        }
    }

    /// <summary>
    /// A new v1 cpuset cgroup starts with empty cpus and mems and refuses every process (ENOSPC) until both are set;
    /// copy the parent's values into each level that has none (cgroup.clone_children is off by default).
    /// </summary>
    private static void InheritCpuset(string parent, string level)
    {
        foreach (var file in new[] { "cpuset.cpus", "cpuset.mems" })
        {
            if ((CgroupFiles.TryRead(level, file) ?? "").Trim().Length > 0) continue;
            var value = CgroupFiles.Read(parent, file).Trim();
            CgroupFiles.Write(level, file, value);
        }
    }

    public override void Apply(LinuxResources resources)
    {
        if (resources.Unified is { Count: > 0 } unified)
        {
            // Pure v1 has nowhere to put them; on a hybrid host they go to the unified directory, where only the
            // controllers not bound to v1 exist.
            var u = UnifiedDir ?? throw new CgroupException(
                $"linux.resources.unified ({string.Join(", ", unified.Keys)}): cgroup v2 settings are not supported on a cgroup v1 host");
            V2ResourceWriter.Unified(u, unified);
        }
        V1ResourceWriter.Apply(Dir, resources);
    }

    public override void Freeze(TimeSpan? timeout = null)
    {
        var dir = Dir("freezer") ?? throw new CgroupException("freeze: the freezer cgroup controller is not mounted");
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        CgroupFiles.Write(dir, "freezer.state", "FROZEN");
        // The state reads FREEZING until every task is stopped; tasks forked meanwhile can keep it there, so the
        // request is repeated while waiting.
        var deadline = DateTime.UtcNow + limit;
        int delay = 1;
        while (true)
        {
            var state = CgroupFiles.Read(dir, "freezer.state").Trim();
            if (state == "FROZEN") return;
            if (DateTime.UtcNow > deadline)
            {
                CgroupFiles.TryWrite(dir, "freezer.state", "THAWED");
                throw new CgroupException($"freezer.state=FROZEN: still {state} after {limit.TotalSeconds:0.#}s ({dir})");
            }
            Thread.Sleep(delay);
            delay = Math.Min(delay * 2, 50);
            CgroupFiles.Write(dir, "freezer.state", "FROZEN");
        }
    }

    public override void Thaw()
    {
        var dir = Dir("freezer") ?? throw new CgroupException("thaw: the freezer cgroup controller is not mounted");
        CgroupFiles.Write(dir, "freezer.state", "THAWED");
        V2Freezer.WaitUntil(() => CgroupFiles.Read(dir, "freezer.state").Trim() == "THAWED", TimeSpan.FromSeconds(5));
    }

    public override bool IsFrozen =>
        Dir("freezer") is { } dir && (CgroupFiles.TryRead(dir, "freezer.state") ?? "").Trim() == "FROZEN";

    public override CgroupStats Stats() => V1StatsReader.Read(Dir);

    public override ulong OomKillCount() =>
        Dir("memory") is { } dir ? CgroupFiles.ReadKeyValues(dir, "memory.oom_control").GetValueOrDefault("oom_kill") : 0;
}
