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
    /// <summary>The cgroup move started by a deferred spawn; wait for it before the init goes on.</summary>
    public Task? PendingCgroupMove;
    public ICgroupManager? Cgroup;

    public void CloseJoinFds()
    {
        foreach (var (fd, _) in Joins) LibC.close(fd);
        Joins.Clear();
    }
}

/// <summary>
/// Starts `berth-runtime init` inside the planned namespaces through the C stage and
/// hands back its pid and the sync channel. The init is in its cgroup and has its
/// id maps before it runs a single instruction of C#.
/// </summary>
internal static unsafe class InitSpawner
{
    /// <param name="deferCgroup">
    /// Leave the cgroup move to the caller, who does it while the init starts up: on cgroup v1
    /// the first write to cgroup.procs waits for an RCU grace period (~15 ms here), time the
    /// init spends starting the .NET runtime and mounting anyway. The cgroup namespace is then
    /// unshared by the init itself once the caller says the move is done.
    /// </param>
    public static (int Pid, SyncChannel Channel) Spawn(SpawnPlan plan, bool deferCgroup = false)
    {
        if (plan.Joins.Count > NativeSpawn.MaxJoin) throw new RuntimeException("too many namespaces to join");
        // With a new mount namespace of its own (and no user namespace, whose locked mounts make
        // the bind fragile) the child execs us through a detached read-only bind mount; otherwise
        // from a sealed memfd copy. Either way /proc/PID/exe cannot be written (CVE-2019-5736).
        string? roSelf = (plan.CloneFlags & CLONE.NEWNS) != 0 && (plan.CloneFlags & CLONE.NEWUSER) == 0 && plan.Joins.Count == 0
            ? SelfPath() : null;
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
                CloneFlags = deferCgroup ? plan.CloneFlags & ~CLONE.NEWCGROUP : plan.CloneFlags,
                JoinCount = plan.Joins.Count,
                ExeFd = exe,
                SyncFd = childFd,
                BecomeRoot = plan.BecomeRoot ? 1 : 0,
                NewSession = 1,
                Argv = argv.Pointer,
                Envp = envp.Pointer,
            };
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
                if (!deferCgroup) plan.Cgroup?.AddProcess(pid);
                byte go = (byte)'G';
                if (LibC.write(parentFd, &go, 1) != 1) throw new LinuxException(Errno.Last, "releasing the container process");
                // Deferred: the move runs on a thread of its own (not the thread pool, whose start-up
                // costs a millisecond), after the child is released, so the cgroup v1 RCU wait runs
                // alongside the child's exec and start-up; the caller waits for it before resuming the init.
                if (deferCgroup && plan.Cgroup is { } cg) plan.PendingCgroupMove = MoveOnThread(cg, pid);
            }
            catch
            {
                LibC.close(errRead);
                throw;
            }
            NativeSpawn.WaitExec(errRead);
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

    private static Task MoveOnThread(ICgroupManager cg, int pid)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        new Thread(() =>
        {
            try { cg.AddProcess(pid); done.SetResult(); }
            catch (Exception e) { done.SetException(e); }
        }) { IsBackground = true, Name = "cgroup-move" }.Start();
        return done.Task;
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
