using Berth.Linux;
using Berth.Linux.Cgroups;
using Berth.Linux.Interop;
using Berth.Linux.Processes;
using Berth.Linux.Security;
using Berth.Oci.Runtime;
using Berth.Runtime.Bundle;
using Berth.Runtime.Hooks;
using Berth.Runtime.Init;
using Berth.Runtime.State;

namespace Berth.Runtime.Lifecycle;

/// <summary>
/// `create`: validate everything first, then claim the id, make the cgroup, start the init
/// in its namespaces and drive it to "created". Any failure undoes all of it.
/// </summary>
public sealed class ContainerCreator
{
    private readonly StateStore _store;
    public ContainerCreator(StateStore store) => _store = store;

    /// <summary>
    /// Without linux.cgroupsPath the container's cgroup is named by its id under the caller's own
    /// cgroup in each hierarchy (runc's default), so a lone container makes and removes one level.
    /// </summary>
    public static string DefaultCgroupsPath(string id) => id;

    public Container Create(CreateOptions o)
    {
        Logging.Timing.Mark("create: start");
        StateStore.ValidateId(o.Id);
        string bundle = Path.GetFullPath(o.Bundle);
        var (spec, rawConfig) = SpecLoader.Load(bundle);
        Logging.Timing.Mark("config parsed");
        SpecValidator.Validate(spec, bundle, name => Berth.Linux.Security.Capabilities.TryParse(name, out _), KnownFilesystems.Contains);
        string rootfs = Path.GetFullPath(spec.Root!.Path!, bundle);
        if (spec.Process is { Terminal: true } && string.IsNullOrEmpty(o.ConsoleSocket))
            throw new RuntimeException("process.terminal is true: --console-socket is required");
        CapabilityAvailability.Check(spec);
        Logging.Timing.Mark("config validated");
        // Compile the seccomp filter here, in the parent: the container never loads libseccomp.
        SeccompProgram? seccomp = spec.Linux?.Seccomp is { } sc ? CompileSeccomp(sc, _store.Root, rawConfig) : null;
        if (seccomp is not null) Logging.Timing.Mark("seccomp compiled");

        string dir = _store.Claim(o.Id);
        ICgroupManager? cgroup = null;
        SpawnPlan? plan = null;
        int pid = -1;
        try
        {
            string fifo = _store.FifoPath(o.Id);
            Errno.Check(LibC.mkfifo(fifo, 0x180 /* 0600 */), $"mkfifo {fifo}");

            cgroup = CgroupManager.Open(spec.Linux?.CgroupsPath is { Length: > 0 } cp ? cp : DefaultCgroupsPath(o.Id));
            // With v1 hierarchies (this host's hybrid layout) only the cgroup2 directory, which the
            // init is cloned into, must exist before the spawn. The v1 levels and the limits are made
            // while the init's runtime starts (~1.5 ms), and the init joins them itself, first thing
            // after it has its request: ~1 ms less of create that waits for either.
            bool v1Late = !cgroup.IsV2;
            plan = NamespacePlanner.ForCreate(spec);
            // A new cgroup namespace is rooted at the cgroups of whoever unshares it: the init, then.
            bool unshareCgroupns = v1Late && (plan.CloneFlags & CLONE.NEWCGROUP) != 0;
            if (unshareCgroupns) plan.CloneFlags &= ~CLONE.NEWCGROUP;
            if (v1Late) CreateCgroup(cgroup.CreateV2Directory);
            else MakeCgroup(cgroup, spec);
            Logging.Timing.Mark("cgroup created");
            plan.Cgroup = cgroup;
            plan.CgroupV1Late = v1Late;
            var (childPid, channel) = InitSpawner.Spawn(plan);
            pid = childPid;
            Logging.Timing.Mark("init spawned");
            plan.CloseJoinFds();
            using var v1Join = v1Late ? MakeCgroup(cgroup, spec).OpenJoin(v2: false) : null;
            if (v1Late) Logging.Timing.Mark("v1 cgroups made");
            GiveFifoToProcessUser(fifo, pid, spec.Process?.User, plan.BecomeRoot);
            using (channel)
            {
                // The hooks of create see "created": the spec's state is "created" once the
                // environment is built (lifecycle step 2), before prestart/createRuntime run.
                var state = new ContainerState { Id = o.Id, Status = "created", Pid = pid, Bundle = bundle, Annotations = spec.Annotations };
                channel.SendRequest(new InitRequest
                {
                    Mode = "create",
                    Id = o.Id,
                    Bundle = bundle,
                    Rootfs = rootfs,
                    // The spec travels as the validated config.json bytes (next frame): serializing
                    // the parsed objects again would cost more than the bytes do.
                    Spec = null!,
                    Process = null!,
                    SpecFollows = true,
                    FifoPath = fifo,
                    ConsoleSocket = o.ConsoleSocket is { } s ? Path.GetFullPath(s) : null,
                    NoPivot = o.NoPivot,
                    PreserveFds = o.PreserveFds,
                    SeccompBpf = seccomp?.Bpf,
                    SeccompFlags = seccomp?.Flags ?? 0,
                    CgroupMounts = cgroup.MountPoints().Select(m => new CgroupMountSource { Name = m.Name, HostPath = m.HostPath, V2 = m.IsV2 }).ToList(),
                    InUserNamespace = plan.BecomeRoot, // a new user namespace or a joined one
                    NewUtsNamespace = (plan.CloneFlags & CLONE.NEWUTS) != 0,
                    CgroupTasks = v1Join?.TaskFiles.Select(t => t.Path).ToList(),
                    UnshareCgroupNamespace = unshareCgroupns,
                    HostMountNamespace = HostMounts.InHostNamespace(spec),
                    State = state,
                });
                channel.SendRaw(rawConfig);
                // exec.fifo travels as a descriptor: in a user namespace the init's uid may not
                // traverse --root (0700), as runc hands its init an inherited fd.
                int fifoFd = Errno.Check(LibC.open(fifo, O.PATH | O.CLOEXEC, 0), $"open {fifo}");
                try { Berth.Linux.Io.FdPassing.Send(channel.Fd, fifoFd, "exec.fifo"); }
                finally { LibC.close(fifoFd); }
                foreach (var (fd, path) in v1Join?.TaskFiles ?? [])
                    Berth.Linux.Io.FdPassing.Send(channel.Fd, fd, path);
                Logging.Timing.Mark("request sent");
                // While the init builds the root: config.json is read only through a state.json,
                // which comes once the container is created.
                _store.SaveConfig(o.Id, rawConfig);
                while (true)
                {
                    var msg = channel.ReceiveMessage() ?? throw new RuntimeException("container init exited before it was created");
                    if (msg.Type == "error") throw new RuntimeException(msg.Error ?? "container init failed");
                    if (msg.Type == "created") break;
                    if (msg.Type == "hooks")
                    {
                        HookRunner.RunAll(spec.Hooks?.Prestart, "prestart", state);
                        HookRunner.RunAll(spec.Hooks?.CreateRuntime, "createRuntime", state);
                        channel.SendMessage("resume");
                    }
                }
            }

            var saved = new SavedState
            {
                Id = o.Id,
                Pid = pid,
                PidStartTime = ProcStat.Read(pid)?.StartTime ?? 0,
                Bundle = bundle,
                Rootfs = rootfs,
                Created = DateTime.UtcNow,
                Owner = "",
                CgroupPaths = new Dictionary<string, string>(cgroup.Paths),
                CgroupParentsCreated = cgroup.ParentsCreated is { Count: > 0 } made ? made.ToList() : null,
                Annotations = spec.Annotations,
                HasProcess = spec.Process is not null,
                HostMountNamespace = HostMounts.InHostNamespace(spec),
                HookPhases = HookPhasesOf(spec.Hooks),
            };
            Logging.Timing.Mark("created");
            _store.Save(saved);
            if (o.PidFile is { } pf) WritePidFile(pf, pid);
            return Container.FromSaved(_store, saved);
        }
        catch
        {
            plan?.CloseJoinFds();
            if (pid > 0) KillAndReap(pid);
            if (HostMounts.InHostNamespace(spec)) HostMounts.DetachUnder(rootfs);
            try { cgroup?.Destroy(); } catch (Exception) { }
            _store.Remove(o.Id);
            throw;
        }
    }

    /// <summary>
    /// The init reopens exec.fifo (0600) for writing after it has become the container's user
    /// (process.user, through the id maps in a user namespace), so the fifo is that user's.
    /// </summary>
    private static void GiveFifoToProcessUser(string fifo, int pid, Berth.Oci.Runtime.User? user, bool userNamespace)
    {
        uint uid = user?.Uid ?? 0, gid = user?.Gid ?? 0;
        if (userNamespace)
        {
            uid = HostId($"/proc/{pid}/uid_map", uid, "process.user.uid");
            gid = HostId($"/proc/{pid}/gid_map", gid, "process.user.gid");
        }
        if (uid != 0 || gid != 0) Errno.Check(LibC.chown(fifo, uid, gid), $"chown {fifo}");
    }

    private static uint HostId(string map, uint id, string field)
    {
        foreach (var line in Berth.Linux.Io.FdIo.ReadLines(map))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 3 && uint.TryParse(f[0], out var inside) && uint.TryParse(f[1], out var outside) && uint.TryParse(f[2], out var count)
                && id >= inside && id - inside < count)
                return outside + (id - inside);
        }
        throw new RuntimeException($"{field} {id} is not mapped in the container's user namespace ({map})");
    }

    /// <summary>The whole cgroup with the spec's limits.</summary>
    private static ICgroupManager MakeCgroup(ICgroupManager cgroup, Spec spec)
    {
        CreateCgroup(cgroup.Create);
        if (spec.Linux?.Resources is { } res) cgroup.Apply(DeviceRules.WithContainerDevices(res));
        return cgroup;
    }

    /// <summary>mkdir -p of the cgroup (or part); once more if a delete removed an empty parent in between.</summary>
    private static void CreateCgroup(Action create)
    {
        try { create(); }
        catch (Exception e) when (e is CgroupException or IOException) { create(); }
    }

    private static List<string>? HookPhasesOf(Berth.Oci.Runtime.Hooks? h)
    {
        if (h is null) return null;
        var phases = new List<string>();
        if (h.Poststart is { Count: > 0 }) phases.Add("poststart");
        if (h.Poststop is { Count: > 0 }) phases.Add("poststop");
        return phases.Count > 0 ? phases : null;
    }

    /// <summary>Validates and compiles linux.seccomp; with the raw config, through the root's cache.</summary>
    internal static SeccompProgram CompileSeccomp(LinuxSeccomp sc, string? root = null, byte[]? rawConfig = null)
    {
        SeccompValidation.Validate(sc);
        return root is not null && rawConfig is not null
            ? SeccompCache.GetOrCompile(root, rawConfig, sc, Compile)
            : Compile(sc);

        static SeccompProgram Compile(LinuxSeccomp sc)
        {
            try { return Seccomp.Compile(sc); }
            catch (SecurityConfigException e) { throw new RuntimeException(e.Message); }
        }
    }

    internal static unsafe void KillAndReap(int pid)
    {
        LibC.kill(pid, Sig.KILL);
        int status;
        LibC.waitpid(pid, &status, 0);
    }

    public static void WritePidFile(string path, int pid)
    {
        string full = Path.GetFullPath(path);
        string tmp = full + ".tmp";
        File.WriteAllText(tmp, pid.ToString());
        File.Move(tmp, full, overwrite: true);
    }
}

/// <summary>The filesystem types this kernel knows (/proc/filesystems), for validating mounts[].type.</summary>
public static class KnownFilesystems
{
    private static HashSet<string>? _known;

    public static bool Contains(string type)
    {
        _known ??= Berth.Linux.Io.FdIo.ReadLines("/proc/filesystems").Select(l => l.Split('\t').Last().Trim()).ToHashSet();
        // Types the kernel loads on demand (as modules) are not listed until first use.
        return _known.Contains(type) || File.Exists($"/lib/modules/{Environment.OSVersion.Version}/kernel/fs/{type}");
    }
}
