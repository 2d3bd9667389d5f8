namespace Berth.Linux.Cgroups;

/// <summary>Unit conversions between the OCI spec (written for cgroup v1) and cgroup v2 files.</summary>
public static class CgroupConversions
{
    /// <summary>
    /// cpu.shares (2..262144, default 1024) to cpu.weight (1..10000, default 100), mapping the ends of one range
    /// linearly onto the other as runc and crun do, so a value means the same under both runtimes.
    /// 0 means "not set" and stays 0.
    /// </summary>
    public static ulong SharesToWeight(ulong shares)
    {
        if (shares == 0) return 0;
        shares = Math.Clamp(shares, 2UL, 262144UL);
        return 1 + ((shares - 2) * 9999) / 262142;
    }

    /// <summary>blkio.weight (10..1000) to io.weight (1..10000), linearly; 0 stays 0.</summary>
    public static ulong BlkioWeightToIoWeight(ulong weight)
    {
        if (weight == 0) return 0;
        weight = Math.Clamp(weight, 10UL, 1000UL);
        return 1 + ((weight - 10) * 9999) / 990;
    }

    /// <summary>
    /// The memory.swap.max value for a spec "swap" (which is memory+swap, the v1 memsw meaning) and "limit".
    /// Returns null when nothing is to be written (swap unset or 0), "max" for unlimited.
    /// </summary>
    public static string? SwapToV2(long? swap, long? limit)
    {
        if (swap is null or 0) return null;
        if (swap == -1) return "max";
        if (swap < -1) throw new CgroupException($"memory.swap={swap}: invalid value");
        if (limit is null or 0 or -1)
            throw new CgroupException($"memory.swap={swap}: a memory+swap limit needs a memory limit (memory.limit={limit?.ToString() ?? "unset"})");
        if (swap < limit)
            throw new CgroupException($"memory.swap={swap}: memory+swap limit is below the memory limit {limit}");
        return (swap.Value - limit.Value).ToString();
    }

    /// <summary>A byte limit for v1 files: -1 is unlimited and written as -1, which the kernel accepts.</summary>
    public static string V1Limit(long v) => v < 0 ? "-1" : v.ToString();

    /// <summary>A byte/count limit for v2 files: negative means unlimited ("max").</summary>
    public static string V2Limit(long v) => v < 0 ? "max" : v.ToString();

    /// <summary>pids.max for both versions: 0 or negative means no limit.</summary>
    public static string PidsLimit(long v) => v <= 0 ? "max" : v.ToString();
}
