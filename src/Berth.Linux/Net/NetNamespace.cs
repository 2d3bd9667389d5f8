using Berth.Linux.Interop;

namespace Berth.Linux.Net;

/// <summary>
/// Named network namespaces, as `ip netns add` makes them: a new namespace kept alive by a bind
/// mount of its nsfs file, so it can be set up before any process lives in it and joined later
/// by path (the OCI config's network namespace "path"). Each step that must stand in the namespace
/// runs on a thread of its own: setns(CLONE_NEWNET) moves only the calling thread.
/// </summary>
public static class NetNamespace
{
    /// <summary>Makes a new network namespace and pins it at <paramref name="path"/> (an empty file is made there).</summary>
    public static void Create(string path)
    {
        File.WriteAllBytes(path, []);
        try
        {
            OnOwnThread(() =>
            {
                int home = Errno.Check(LibC.open("/proc/thread-self/ns/net", O.RDONLY | O.CLOEXEC, 0), "open own network namespace");
                try
                {
                    Errno.Check(LibC.unshare(CLONE.NEWNET), "unshare network namespace");
                    try
                    {
                        Errno.Check(LibC.mount("/proc/thread-self/ns/net", path, null, MS.BIND, null), $"bind network namespace at {path}");
                        Loopback.BringUp();
                    }
                    finally
                    {
                        // The thread goes back home before it ends either way (it is ours, but be tidy).
                        LibC.setns(home, CLONE.NEWNET);
                    }
                }
                finally { LibC.close(home); }
                return 0;
            });
        }
        catch
        {
            Delete(path);
            throw;
        }
    }

    /// <summary>Unpins and removes a namespace made by <see cref="Create"/>; it ends when no process is left in it.</summary>
    public static void Delete(string path)
    {
        LibC.umount2(path, MNT.DETACH);
        try { File.Delete(path); } catch (IOException) { }
    }

    /// <summary>
    /// A socket(2) of the namespace at <paramref name="path"/> (a socket keeps the namespace it was made in):
    /// how berthd reaches a container's own 127.0.0.1 for a published port. Returns the fd (close-on-exec).
    /// </summary>
    public static int Socket(string path, int domain, int type, int protocol) =>
        OnOwnThread(() => RunIn(path, () => Errno.Check(LibC.socket(domain, type | O.CLOEXEC, protocol), $"socket in {path}")));

    /// <summary>Runs <paramref name="action"/> on the calling thread while it stands in the namespace at <paramref name="path"/>.</summary>
    internal static T RunIn<T>(string path, Func<T> action)
    {
        int target = Errno.Check(LibC.open(path, O.RDONLY | O.CLOEXEC, 0), $"open network namespace {path}");
        int home = Errno.Check(LibC.open("/proc/thread-self/ns/net", O.RDONLY | O.CLOEXEC, 0), "open own network namespace");
        try
        {
            Errno.Check(LibC.setns(target, CLONE.NEWNET), $"join network namespace {path}");
            try { return action(); }
            finally
            {
                if (LibC.setns(home, CLONE.NEWNET) != 0)
                    Environment.FailFast("berth: a thread could not return to its network namespace");
            }
        }
        finally { LibC.close(target); LibC.close(home); }
    }

    internal static T OnOwnThread<T>(Func<T> action)
    {
        T result = default!;
        Exception? error = null;
        var t = new Thread(() =>
        {
            try { result = action(); }
            catch (Exception e) { error = e; }
        });
        t.Start();
        t.Join();
        if (error is not null) throw error;
        return result;
    }
}
