using Berth.Linux.Interop;

namespace Berth.Linux.Cgroups;

/// <summary>
/// Descriptors with which a freshly cloned, single-threaded child joins a cgroup by itself,
/// before it runs anything: it writes "0" to each v1 <c>tasks</c> file and is cloned into the
/// cgroup2 directory (CLONE_INTO_CGROUP). Neither takes the kernel's global threadgroup rwsem for
/// writing, so neither waits for the RCU grace period that a write of a pid to cgroup.procs does
/// after a quiet spell (10-20 ms on cgroup v1). Opened by the caller, so the kernel checks the
/// caller's credentials, not the child's (which may sit in a new user namespace already).
/// </summary>
public sealed class CgroupJoin : IDisposable
{
    private readonly List<(int Fd, string Path)> _tasks = new();

    /// <summary>The v1 <c>tasks</c> files, opened for writing.</summary>
    public IReadOnlyList<(int Fd, string Path)> TaskFiles => _tasks;

    /// <summary>The cgroup2 directory (O_PATH), or -1 when there is none.</summary>
    public int V2Directory { get; private set; } = -1;

    internal static CgroupJoin Open(IEnumerable<CgroupDirectory> dirs)
    {
        var j = new CgroupJoin();
        try
        {
            foreach (var d in dirs)
            {
                if (d.Hierarchy.IsV2)
                    j.V2Directory = Errno.Check(LibC.open(d.HostPath, O.PATH | O.DIRECTORY | O.CLOEXEC, 0), $"open {d.HostPath}");
                else
                {
                    string tasks = Path.Combine(d.HostPath, "tasks");
                    j._tasks.Add((Errno.Check(LibC.open(tasks, O.WRONLY | O.CLOEXEC, 0), $"open {tasks}"), tasks));
                }
            }
            return j;
        }
        catch
        {
            j.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var (fd, _) in _tasks) LibC.close(fd);
        _tasks.Clear();
        if (V2Directory >= 0) LibC.close(V2Directory);
        V2Directory = -1;
    }
}
