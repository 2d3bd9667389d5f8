using Berth.Linux;
using Berth.Linux.Interop;
using Berth.Linux.Io;
using Berth.Oci.Runtime;
using Berth.Runtime.Hooks;

namespace Berth.Runtime.Init;

/// <summary>
/// `berth-runtime init`: the C# half of the container's first process. It starts already
/// inside the container's namespaces (the C stage put it there), takes its orders from the
/// parent over the sync socket, builds the rootfs, waits for `start`, and execs the program.
/// </summary>
public static class ContainerInit
{
    public const string SyncFdVariable = "_BERTH_SYNC_FD";

    /// <summary>"up": the init brings up the loopback interface of the container's network namespace.</summary>
    public const string LoopbackAnnotation = "run.berth.loopback";

    public static int Run()
    {
        int fd = int.Parse(Environment.GetEnvironmentVariable(SyncFdVariable) ?? "-1");
        if (fd < 0)
        {
            Console.Error.WriteLine("berth-runtime init: this command is started by berth-runtime itself");
            return 1;
        }
        var channel = new SyncChannel(fd);
        try
        {
            Logging.Timing.Mark("init: start");
            var req = channel.ReceiveRequest()
                ?? throw new RuntimeException("the parent closed the sync socket before sending the configuration");
            Logging.Timing.Mark("init: request received");
            if (req.SpecFollows)
            {
                req.Spec = Bundle.SpecLoader.Parse(channel.ReceiveRaw());
                Logging.Timing.Mark("init: spec parsed");
                req.Process = req.Spec.Process ?? new Berth.Oci.Runtime.Process();
            }
            if (req.Mode == "exec") RunExec(req, channel);
            else RunCreate(req, channel);
            return 0; // not reached: both end in execve
        }
        catch (Exception e)
        {
            // Before "created" the parent is listening; after it (the wait for start, the last
            // steps before execve) nobody is, and the container's stderr is the only witness.
            bool told = false;
            if (!channel.Closed)
            {
                try { channel.SendMessage("error", e.Message); told = true; } catch (Exception) { }
            }
            if (!told) WriteStderr($"berth-runtime init: {e.Message}\n");
            return 1;
        }
    }

    private static unsafe void WriteStderr(string text)
    {
        byte[] b = System.Text.Encoding.UTF8.GetBytes(text);
        fixed (byte* p = b) _ = LibC.write(2, p, (nuint)b.Length);
    }

    private static void RunCreate(InitRequest req, SyncChannel channel)
    {
        int fifo = FdPassing.Receive(channel.Fd); // exec.fifo, O_PATH, sent after the request
        JoinCgroups(req, channel);
        LibC.umask(0);
        ProcessLauncher.BindNative();
        var spec = req.Spec;
        if (spec.Process?.OomScoreAdj is int adj) FdIo.WriteFile("/proc/self/oom_score_adj", adj.ToString());

        // Everything that must resolve on the host is opened before the root changes.
        int consoleSocket = req.ConsoleSocket is { Length: > 0 } cs ? FdPassing.ConnectUnix(cs) : -1;
        int hostProcSelf = Errno.Check(LibC.open("/proc/self", O.PATH | O.DIRECTORY | O.CLOEXEC, 0), "open /proc/self");

        // An engine's request (annotation) to bring up `lo` of the container's own network
        // namespace, as docker does for every container; it spares a createRuntime hook process.
        if (spec.Annotations?.GetValueOrDefault(LoopbackAnnotation) == "up" && spec.Linux?.Namespaces?.Any(n => n.Type == "network") == true)
            Berth.Linux.Net.Loopback.BringUp();

        var rootfs = new RootfsBuilder(req);
        Logging.Timing.Mark("init: host fds open");
        rootfs.Prepare();

        // prestart and createRuntime hooks run in the parent, in the runtime's namespaces
        // (without any, the round trip is skipped: the parent just waits for "created").
        Logging.Timing.Mark("init: mounts done");
        if (spec.Hooks is { } hooks && (hooks.Prestart is { Count: > 0 } || hooks.CreateRuntime is { Count: > 0 }))
        {
            channel.SendMessage("hooks");
            var resume = channel.ReceiveMessage();
            if (resume?.Type != "resume") throw new RuntimeException("the parent stopped the creation");
        }

        var state = req.State!;
        HookRunner.RunAll(spec.Hooks?.CreateContainer, "createContainer", state);

        Logging.Timing.Mark("init: resumed");
        rootfs.PivotRoot();
        Logging.Timing.Mark("init: pivoted");
        int slave = -1;
        if (req.Process.Terminal)
        {
            if (consoleSocket < 0) throw new RuntimeException("process.terminal is true but no --console-socket was given");
            slave = ContainerConsole.Setup(consoleSocket, req.Process.ConsoleSize?.Height ?? 0, req.Process.ConsoleSize?.Width ?? 0, bindDevConsole: true);
            LibC.close(consoleSocket);
        }

        if (req.NewUtsNamespace)
        {
            if (spec.Hostname is { } h) Errno.Check(LibC.sethostname(h, (nuint)System.Text.Encoding.UTF8.GetByteCount(h)), $"sethostname {h}");
            if (spec.Domainname is { } d) Errno.Check(LibC.setdomainname(d, (nuint)System.Text.Encoding.UTF8.GetByteCount(d)), $"setdomainname {d}");
        }
        foreach (var (key, value) in spec.Linux?.Sysctl ?? new Dictionary<string, string>())
            FdIo.WriteFile("/proc/sys/" + key.Replace('.', '/'), value);
        // Masks and read-only paths last: sysctls are written through /proc/sys before it turns read-only.
        rootfs.Finish();
        Logging.Timing.Mark("init: masked");

        // Without spec.process there is nothing to run: the container can be created, but
        // `start` refuses it (and ends this init).
        ProcessLauncher? launcher = null;
        if (spec.Process is not null)
        {
            launcher = new ProcessLauncher(req.Process, req.SeccompBpf, req.SeccompFlags, req.PreserveFds);
            launcher.Prepare();
            launcher.ApplyAppArmor();
            if (slave >= 0) ContainerConsole.Attach(slave);
            LibC.umask(req.Process.User?.Umask ?? 0x12 /* 022 */);
            launcher.DropPrivileges();
        }

        Logging.Timing.Mark("init: created");
        channel.SendMessage("created");
        channel.Dispose();

        // Block until `start` opens the fifo; the write tells it we are going.
        int wfd = LibC.openat(hostProcSelf, $"fd/{fifo}", O.WRONLY | O.CLOEXEC, 0);
        if (wfd < 0) throw new LinuxException(Errno.Last, "open exec.fifo");
        unsafe
        {
            byte zero = (byte)'0';
            if (LibC.write(wfd, &zero, 1) < 0) throw new LinuxException(Errno.Last, "write exec.fifo");
        }
        // wfd stays open (close-on-exec): `start` waits for its EOF, i.e. for the execve of
        // the user's program (or our death), before it returns and runs the poststart hooks.
        LibC.close(fifo);
        LibC.close(hostProcSelf);

        // Still "created": "running" begins with the user's program (lifecycle step 8).
        if (launcher is null) throw new RuntimeException("process is not set in config.json: nothing to start");
        HookRunner.RunAll(spec.Hooks?.StartContainer, "startContainer", state);
        launcher.Exec();
    }

    /// <summary>
    /// The container's v1 cgroups, which the parent made while this process started: "0" into each
    /// <c>tasks</c> file moves this thread, the one that builds the rootfs (mknod is checked against
    /// its devices cgroup) and execs the program; the runtime's other threads end at that execve.
    /// Like the C stage's join, it takes no global lock (no RCU wait), and the kernel checks the
    /// credentials of the parent, who opened the files. Then the cgroup namespace, rooted here.
    /// </summary>
    private static unsafe void JoinCgroups(InitRequest req, SyncChannel channel)
    {
        foreach (var path in req.CgroupTasks ?? [])
        {
            int fd = FdPassing.Receive(channel.Fd);
            try
            {
                byte zero = (byte)'0';
                nint n;
                do n = LibC.write(fd, &zero, 1);
                while (n < 0 && Errno.Last == Errno.EINTR);
                if (n != 1) throw new LinuxException(n < 0 ? Errno.Last : Errno.EIO, $"joining the cgroup {Path.GetDirectoryName(path)}");
            }
            finally { LibC.close(fd); }
        }
        if (req.UnshareCgroupNamespace) Errno.Check(LibC.unshare(CLONE.NEWCGROUP), "unshare(cgroup)");
        Logging.Timing.Mark("init: cgroups joined");
    }

    private static void RunExec(InitRequest req, SyncChannel channel)
    {
        ProcessLauncher.BindNative();
        int slave = -1;
        if (req.Process.Terminal)
        {
            // We are already in the container's mount namespace, where the console socket's
            // path means nothing: the master goes to the parent, which forwards it.
            channel.SendMessage("console");
            slave = ContainerConsole.Setup(channel.Fd, req.Process.ConsoleSize?.Height ?? 0, req.Process.ConsoleSize?.Width ?? 0, bindDevConsole: false);
            if (channel.ReceiveMessage()?.Type != "resume") throw new RuntimeException("the parent stopped the exec");
        }
        var launcher = new ProcessLauncher(req.Process, req.SeccompBpf, req.SeccompFlags, req.PreserveFds);
        launcher.Prepare();
        launcher.ApplyAppArmor();
        if (slave >= 0) ContainerConsole.Attach(slave);
        if (req.Process.User?.Umask is uint um) LibC.umask(um);
        launcher.DropPrivileges();
        channel.SendMessage("created");
        channel.Dispose();
        launcher.Exec();
    }
}
