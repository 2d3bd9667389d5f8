using System.Runtime.ExceptionServices;

namespace Berth.Linux.Tests.Security;

/// <summary>
/// Runs a body on a new OS thread and returns its result. Capabilities and seccomp filters are per
/// thread, so tests change them only on a thread that ends right after; the body must stay
/// synchronous (no Task, no thread pool), so no other thread inherits what it changed.
/// </summary>
internal static class DedicatedThread
{
    public static T Run<T>(Func<T> body)
    {
        T result = default!;
        ExceptionDispatchInfo? error = null;
        var thread = new Thread(() =>
        {
            try { result = body(); }
            catch (Exception e) { error = ExceptionDispatchInfo.Capture(e); }
        }, 1 << 20);
        thread.IsBackground = true;
        thread.Start();
        if (!thread.Join(TimeSpan.FromSeconds(30))) throw new TimeoutException("the dedicated test thread did not finish");
        error?.Throw();
        return result;
    }

    /// <summary>A field of /proc/thread-self/status for the calling thread, e.g. "CapBnd".</summary>
    public static string StatusField(string name)
    {
        foreach (var line in File.ReadAllLines("/proc/thread-self/status"))
            if (line.StartsWith(name + ":", StringComparison.Ordinal)) return line[(name.Length + 1)..].Trim();
        throw new InvalidOperationException($"no {name} in /proc/thread-self/status");
    }

    public static ulong StatusMask(string name) =>
        ulong.Parse(StatusField(name), System.Globalization.NumberStyles.HexNumber);
}
