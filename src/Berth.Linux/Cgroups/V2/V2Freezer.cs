namespace Berth.Linux.Cgroups.V2;

/// <summary>cgroup.freeze / cgroup.events: the v2 freezer, part of the core (no controller needed).</summary>
internal static class V2Freezer
{
    public static void Freeze(string dir, TimeSpan timeout)
    {
        CgroupFiles.Write(dir, "cgroup.freeze", "1");
        // The write only starts freezing; "frozen 1" in cgroup.events says every task has stopped.
        if (!WaitUntil(() => IsFrozen(dir), timeout))
        {
            CgroupFiles.TryWrite(dir, "cgroup.freeze", "0");
            throw new CgroupException($"cgroup.freeze=1: the cgroup did not report frozen within {timeout.TotalSeconds:0.#}s ({dir})");
        }
    }

    public static void Thaw(string dir)
    {
        CgroupFiles.Write(dir, "cgroup.freeze", "0");
        WaitUntil(() => !IsFrozen(dir), TimeSpan.FromSeconds(5));
    }

    public static bool IsFrozen(string dir) =>
        CgroupFiles.ReadKeyValues(dir, "cgroup.events").GetValueOrDefault("frozen") == 1;

    internal static bool WaitUntil(Func<bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        int delay = 1;
        while (!done())
        {
            if (DateTime.UtcNow > deadline) return false;
            Thread.Sleep(delay);
            delay = Math.Min(delay * 2, 50);
        }
        return true;
    }
}
