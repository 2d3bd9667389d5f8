using Berth.Linux.Cgroups.Stats;
using Berth.Oci.Runtime;

namespace Berth.Linux.Cgroups;

/// <summary>Where the runtime mounts one hierarchy inside a container's /sys/fs/cgroup.</summary>
/// <param name="Name">Sub-directory under /sys/fs/cgroup ("cpu,cpuacct", "memory", "systemd", "unified"); "" when the
/// hierarchy is mounted at /sys/fs/cgroup itself (pure v2).</param>
/// <param name="HostPath">The container's cgroup in that hierarchy, on the host.</param>
/// <param name="IsV2">cgroup2 (mount fstype cgroup2, or a bind mount of the v2 directory).</param>
/// <param name="Controllers">The v1 controllers of the hierarchy, e.g. ["cpu","cpuacct"]; used to create the
/// per-controller symlinks ("cpu" -> "cpu,cpuacct") that systemd hosts show.</param>
public sealed record CgroupMountPoint(string Name, string HostPath, bool IsV2, IReadOnlyList<string> Controllers);

/// <summary>
/// One container's cgroup, in every hierarchy of the host. The same object serves create (Create, Apply,
/// OpenJoin: the new process joins by itself) and every later command (kill --all: Pids; pause/resume: Freeze/Thaw; update: Apply;
/// events: Stats/OomKillCount; delete: Destroy). Nothing is created by opening it.
/// </summary>
public interface ICgroupManager
{
    CgroupLayout Layout { get; }

    /// <summary>True when the cgroup is a v2 one (pure v2 host). Hybrid hosts are v1 with a unified directory beside.</summary>
    bool IsV2 { get; }

    /// <summary>Hierarchy key -> host path of this cgroup. Keys: "cpu,cpuacct", "memory", "name=systemd", ...; "unified" for the v2 directory.</summary>
    IReadOnlyDictionary<string, string> Paths { get; }

    /// <summary>The host path in the hierarchy holding <paramref name="controller"/> ("memory", "name=systemd", "unified"), or null.</summary>
    string? PathFor(string controller);

    /// <summary>True when the cgroup directory exists (in every hierarchy that has one).</summary>
    bool Exists();

    /// <summary>mkdir -p in every hierarchy, preparing cpuset levels and v2 subtree controllers on the way.</summary>
    void Create();

    /// <summary>
    /// Only the cgroup2 directory (on a v2 host: all of <see cref="Create"/>): what a child must be
    /// cloned into (CLONE_INTO_CGROUP) before the v1 levels exist. <see cref="Create"/> makes the rest.
    /// </summary>
    void CreateV2Directory();

    /// <summary>
    /// The parent directories (host paths, top-down) that <see cref="Create"/> made above the cgroup itself.
    /// A runtime that removes the cgroup in a later process keeps these, so it removes only what it made
    /// (and never, say, kubelet's pod cgroup above a container's).
    /// </summary>
    IReadOnlyList<string> ParentsCreated { get; }

    /// <summary>Writes the limits; fields left null are not touched (so it serves "update" too).</summary>
    void Apply(LinuxResources resources);

    /// <summary>Moves a process (all its threads) into the cgroup in every hierarchy.</summary>
    void AddProcess(int pid);

    /// <summary>Moves a process into the cgroup's cgroup2 directory only (a child that could not be cloned into it).</summary>
    void AddProcessToV2(int pid);

    /// <summary>Opens the descriptors a new child joins the cgroup with by itself (see <see cref="CgroupJoin"/>): v1 tasks files, the v2 directory, or both.</summary>
    CgroupJoin OpenJoin(bool v1 = true, bool v2 = true);

    /// <summary>Every PID in the cgroup and its sub-cgroups.</summary>
    IReadOnlyList<int> Pids();

    /// <summary>Freezes every task and returns once the kernel reports the cgroup frozen.</summary>
    void Freeze(TimeSpan? timeout = null);

    void Thaw();

    bool IsFrozen { get; }

    CgroupStats Stats();

    /// <summary>How many processes of this cgroup the OOM killer has killed.</summary>
    ulong OomKillCount();

    /// <summary>Removes the cgroup directories (and sub-cgroups, and parents this instance created), killing nothing.</summary>
    /// <param name="busyPatience">How long to retry a cgroup that still has processes (EBUSY) before failing; default 5 s.</param>
    void Destroy(TimeSpan? busyPatience = null);

    /// <summary>What the runtime bind-mounts for a container's "cgroup" mount.</summary>
    IReadOnlyList<CgroupMountPoint> MountPoints();
}
