using Berth.Linux;
using Berth.Linux.Cgroups;
using Berth.Linux.Interop;
using Berth.Oci.Runtime;
using Berth.Runtime.Init;
using Berth.Runtime.Native;

namespace Berth.Runtime.Lifecycle;

/// <summary>What the C stage should do: namespaces to create and to join, and the user-namespace maps.</summary>
public sealed class SpawnPlan
{
    public int CloneFlags;
    public List<(int Fd, int Type)> Joins { get; } = new();
    public List<IdMapping>? UidMappings;
    public List<IdMapping>? GidMappings;
    public bool BecomeRoot;
    /// <summary>Contents for timens_offsets of a new time namespace ("monotonic S N" lines).</summary>
    public string? TimeOffsets;
    /// <summary>The cgroup the child joins before it execs (see <see cref="CgroupJoin"/>).</summary>
    public ICgroupManager? Cgroup;
    /// <summary>The C stage joins only the cgroup2 directory: the v1 ones do not exist yet, and the init joins them (create).</summary>
    public bool CgroupV1Late;

    public void CloseJoinFds()
    {
        foreach (var (fd, _) in Joins) LibC.close(fd);
        Joins.Clear();
    }
}

/// <summary>
/// Starts `berth-runtime init` inside the planned namespaces through the C stage and
/// hands back its pid and the sync channel. The init has its id maps, and is in its
/// cgroup, before it runs a single instruction of C#: the C stage joins the cgroup itself
/// (v1 `tasks` and CLONE_INTO_CGROUP, no RCU wait; see CgroupJoin). Except on create with
/// v1 hierarchies (<see cref="SpawnPlan.CgroupV1Late"/>): there the init is cloned into the
/// cgroup2 directory and joins the v1 ones first thing in C#, through the parent's descriptors.
/// </summary>
internal static unsafe class InitSpawner
{
    public static (int Pid, SyncChannel Channel) Spawn(SpawnPlan plan)
    {
        if (plan.Joins.Count > NativeSpawn.MaxJoin) throw new RuntimeException("too many namespaces to join");
        using var join = plan.Cgroup?.OpenJoin(v1: !plan.CgroupV1Late);
        if (join is not null && join.TaskFiles.Count > NativeSpawn.MaxCgroupTasks) throw new RuntimeException("too many cgroup hierarchies");
        // The child execs us through a read-only bind mount of the binary: made by the child in its
        // own new mount namespace, or by the first C stage, as host root in a private one before it
        // joins or creates anything, when the child joins a container's mount namespace (exec) or
        // gets a new one in a user namespace (whose root could remount a bind made in the child's).
        // Without a mount namespace of its own (the container shares the runtime's), from a sealed
        // memfd copy (~5 ms for the 7.5 MB binary). Either way /proc/PID/exe cannot be written
        // (CVE-2019-5736).
        bool ownMountNs = (plan.CloneFlags & CLONE.NEWNS) != 0;
        bool joinsMountNs = plan.Joins.Any(j => j.Type == CLONE.NEWNS);
        string? roSelf = ownMountNs || joinsMountNs ? SelfPath() : null;
        int exe = roSelf is null ? SealedSelf.Create() : -1;
        int* sv = stackalloc int[2];
        Errno.Check(LibC.socketpair(1 /* AF_UNIX */, 1 /* SOCK_STREAM */ | O.CLOEXEC, 0, sv), "socketpair");
        int parentFd = sv[0], childFd = sv[1];
        int pid = -1;
        try
        {
            using var argv = new NativeStringArray(new[] { "berth-runtime", "init" });
            var env = new List<string> { $"{ContainerInit.SyncFdVariable}={childFd}", "DOTNET_gcConcurrent=0" };
            if (Environment.GetEnvironmentVariable("BERTH_TIMING") == "1") env.Add("BERTH_TIMING=1");
            using var envp = new NativeStringArray(env);
            var req = new NativeSpawn.Request
            {
                CloneFlags = plan.CloneFlags,
                JoinCount = plan.Joins.Count,
                ExeFd = exe,
                SyncFd = childFd,
                BecomeRoot = plan.BecomeRoot ? 1 : 0,
                NewSession = 1,
                Argv = argv.Pointer,
                Envp = envp.Pointer,
                CgroupTaskCount = join?.TaskFiles.Count ?? 0,
                // (With a cgroup namespace to join, the C stage joins it after this clone.)
                Cgroup2Fd = join?.V2Directory ?? -1,
            };
            for (int i = 0; i < req.CgroupTaskCount; i++) req.CgroupTaskFds[i] = join!.TaskFiles[i].Fd;
            for (int i = 0; i < plan.Joins.Count; i++)
            {
                req.JoinFds[i] = plan.Joins[i].Fd;
                req.JoinTypes[i] = plan.Joins[i].Type;
            }
            byte[] offsets = LibC.Utf8(plan.TimeOffsets ?? "");
            byte[] self = LibC.Utf8(roSelf ?? "");
            int errRead;
            fixed (byte* off = offsets) fixed (byte* selfPath = self)
            {
                req.TimensOffsets = off;
                req.RoSelfPath = roSelf is null ? null : selfPath;
                pid = NativeSpawn.Spawn(ref req, out errRead);
            }
            try
            {
                if (plan.UidMappings is { Count: > 0 }) WriteMap(pid, "uid_map", plan.UidMappings);
                if (plan.GidMappings is { Count: > 0 }) WriteMap(pid, "gid_map", plan.GidMappings);
                // A kernel without CLONE_INTO_CGROUP: the cgroup2 membership the old way, a write to
                // cgroup.procs (which may wait for an RCU grace period).
                if (join is { V2Directory: >= 0 } && req.Cgroup2Joined == 0) plan.Cgroup!.AddProcessToV2(pid);
                byte go = (byte)'G';
                if (LibC.write(parentFd, &go, 1) != 1) throw new LinuxException(Errno.Last, "releasing the container process");
            }
            catch
            {
                LibC.close(errRead);
                throw;
            }
            NativeSpawn.WaitExec(errRead, i => join!.TaskFiles[i].Path);
            LibC.close(childFd);
            childFd = -1;
            return (pid, new SyncChannel(parentFd));
        }
        catch
        {
            if (pid > 0) { LibC.kill(pid, Sig.KILL); int st; LibC.waitpid(pid, &st, 0); }
            LibC.close(parentFd);
            throw;
        }
        finally
        {
            if (childFd >= 0) LibC.close(childFd);
            if (exe >= 0) LibC.close(exe);
        }
    }

    /// <summary>The runtime binary's path, if it still is the file we run from.</summary>
    private static string? SelfPath()
    {
        string? target = new FileInfo("/proc/self/exe").LinkTarget;
        return target is { Length: > 0 } && !target.EndsWith(" (deleted)", StringComparison.Ordinal) && target.StartsWith('/') ? target : null;
    }

    private static void WriteMap(int pid, string file, List<IdMapping> maps)
    {
        var text = string.Concat(maps.Select(m => $"{m.ContainerId} {m.HostId} {m.Size}\n"));
        Linux.Io.FdIo.WriteFile($"/proc/{pid}/{file}", text);
    }
}
