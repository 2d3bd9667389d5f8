using System.Runtime.InteropServices;
using Berth.Linux;
using Berth.Linux.Interop;
using Berth.Linux.Io;
using Berth.Runtime.Bundle;
using Berth.Runtime.Init;
using OciProcess = Berth.Oci.Runtime.Process;

namespace Berth.Runtime.Lifecycle;

public sealed class ExecOptions
{
    public bool Detach { get; init; }
    public string? PidFile { get; init; }
    public string? ConsoleSocket { get; init; }
    public int PreserveFds { get; init; }
}

/// <summary>`exec`: one more process inside a running container's namespaces and cgroup.</summary>
public static unsafe class ContainerExecutor
{
    public static int Exec(Container c, OciProcess process, ExecOptions o)
    {
        Logging.Timing.Mark("exec: start");
        string status = c.Status;
        if (status != "running" && status != "created")
            throw new RuntimeException($"cannot exec in container \"{c.Id}\": it is {status}");
        SpecValidator.ValidateProcess(process, "process", name => Berth.Linux.Security.Capabilities.TryParse(name, out _));
        if (process.Terminal && string.IsNullOrEmpty(o.ConsoleSocket))
            throw new RuntimeException("process.terminal is true: --console-socket is required");
        var seccomp = c.Config.Linux?.Seccomp is { } sc ? ContainerCreator.CompileSeccomp(sc, c.Store.Root, c.RawConfig) : null;

        Logging.Timing.Mark("exec: validated");
        var plan = NamespacePlanner.ForExec(c.Saved.Pid);
        plan.Cgroup = c.Cgroup;
        int pid;
        try
        {
            var (childPid, channel) = InitSpawner.Spawn(plan);
            pid = childPid;
            Logging.Timing.Mark("exec: spawned");
            using (channel)
            {
                try
                {
                    channel.SendRequest(new InitRequest
                    {
                        Mode = "exec",
                        Id = c.Id,
                        Bundle = c.Saved.Bundle,
                        Rootfs = c.Saved.Rootfs,
                        Process = process,
                        PreserveFds = o.PreserveFds,
                        SeccompBpf = seccomp?.Bpf,
                        SeccompFlags = seccomp?.Flags ?? 0,
                    });
                    while (true)
                    {
                        var msg = channel.ReceiveMessage() ?? throw new RuntimeException("the exec'd process exited before it started");
                        if (msg.Type == "error") throw new RuntimeException(msg.Error ?? "exec failed");
                        if (msg.Type == "created") break;
                        if (msg.Type == "console")
                        {
                            int master = FdPassing.Receive(channel.Fd);
                            try
                            {
                                int sock = FdPassing.ConnectUnix(Path.GetFullPath(o.ConsoleSocket!));
                                try { FdPassing.Send(sock, master, "console"); }
                                finally { LibC.close(sock); }
                            }
                            finally { LibC.close(master); }
                            channel.SendMessage("resume");
                        }
                    }
                }
                catch
                {
                    ContainerCreator.KillAndReap(pid);
                    throw;
                }
            }
        }
        finally { plan.CloseJoinFds(); }

        Logging.Timing.Mark("exec: started");
        if (o.PidFile is { } pf) ContainerCreator.WritePidFile(pf, pid);
        if (o.Detach) return 0;
        return WaitForwarding(pid);
    }

    /// <summary>Waits for our child, passing on the signals we get; returns a shell-style exit code.</summary>
    public static int WaitForwarding(int pid)
    {
        var regs = new List<PosixSignalRegistration>();
        foreach (var sig in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGQUIT })
            regs.Add(PosixSignalRegistration.Create(sig, ctx =>
            {
                ctx.Cancel = true;
                int num = ctx.Signal switch { PosixSignal.SIGINT => 2, PosixSignal.SIGTERM => 15, PosixSignal.SIGHUP => 1, _ => 3 };
                LibC.kill(pid, num);
            }));
        try
        {
            int status;
            while (LibC.waitpid(pid, &status, 0) < 0)
            {
                if (Errno.Last != Errno.EINTR) throw new LinuxException(Errno.Last, "waitpid");
            }
            if ((status & 0x7f) == 0) return (status >> 8) & 0xff;
            return 128 + (status & 0x7f);
        }
        finally
        {
            foreach (var r in regs) r.Dispose();
        }
    }
}
