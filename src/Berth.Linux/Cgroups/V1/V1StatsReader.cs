using Berth.Linux.Cgroups.Stats;

namespace Berth.Linux.Cgroups.V1;

/// <summary>Reads v1 controller files into the runc-shaped model; controllers not mounted leave zeros.</summary>
internal static class V1StatsReader
{
    // cpuacct.stat counts in USER_HZ ticks, which is 100 on every Linux architecture Berth runs on.
    private const ulong NanosPerTick = 1_000_000_000 / 100;

    public static CgroupStats Read(Func<string, string?> dirFor)
    {
        var s = new CgroupStats();
        if (dirFor("cpuacct") is { } acct)
        {
            s.Cpu.Usage.Total = CgroupFiles.ReadUInt(acct, "cpuacct.usage") ?? 0;
            s.Cpu.Usage.PerCpu = StatsParsing.ParseNumbers(CgroupFiles.TryRead(acct, "cpuacct.usage_percpu"));
            if (CgroupFiles.TryRead(acct, "cpuacct.usage_percpu_sys") is { } sys) s.Cpu.Usage.PerCpuKernel = StatsParsing.ParseNumbers(sys);
            if (CgroupFiles.TryRead(acct, "cpuacct.usage_percpu_user") is { } usr) s.Cpu.Usage.PerCpuUser = StatsParsing.ParseNumbers(usr);
            var st = CgroupFiles.ReadKeyValues(acct, "cpuacct.stat");
            s.Cpu.Usage.User = st.GetValueOrDefault("user") * NanosPerTick;
            s.Cpu.Usage.Kernel = st.GetValueOrDefault("system") * NanosPerTick;
        }
        if (dirFor("cpu") is { } cpu)
        {
            var st = CgroupFiles.ReadKeyValues(cpu, "cpu.stat");
            s.Cpu.Throttling.Periods = st.GetValueOrDefault("nr_periods");
            s.Cpu.Throttling.ThrottledPeriods = st.GetValueOrDefault("nr_throttled");
            s.Cpu.Throttling.ThrottledTime = st.GetValueOrDefault("throttled_time");
        }
        if (dirFor("memory") is { } mem)
        {
            s.Memory.Raw = CgroupFiles.ReadKeyValues(mem, "memory.stat");
            s.Memory.Cache = s.Memory.Raw.TryGetValue("total_cache", out var tc) ? tc : s.Memory.Raw.GetValueOrDefault("cache");
            s.Memory.Usage = Entry(mem, "memory");
            s.Memory.Swap = Entry(mem, "memory.memsw");
            s.Memory.Kernel = Entry(mem, "memory.kmem");
            s.Memory.KernelTcp = Entry(mem, "memory.kmem.tcp");
        }
        if (dirFor("pids") is { } pids)
        {
            s.Pids.Current = CgroupFiles.ReadUInt(pids, "pids.current") ?? 0;
            var max = CgroupFiles.ReadUInt(pids, "pids.max") ?? 0;
            s.Pids.Limit = max == ulong.MaxValue ? 0 : max;
        }
        if (dirFor("blkio") is { } blk) Blkio(blk, s.Blkio);
        if (dirFor("hugetlb") is { } huge)
        {
            foreach (var size in StatsParsing.HugePageSizes())
            {
                var usage = CgroupFiles.ReadUInt(huge, $"hugetlb.{size}.usage_in_bytes");
                if (usage is null) continue;
                s.Hugetlb[size] = new HugetlbStats
                {
                    Usage = usage.Value,
                    Max = CgroupFiles.ReadUInt(huge, $"hugetlb.{size}.max_usage_in_bytes") ?? 0,
                    Failcnt = CgroupFiles.ReadUInt(huge, $"hugetlb.{size}.failcnt") ?? 0,
                };
            }
        }
        return s;
    }

    private static MemoryEntry Entry(string dir, string prefix) => new()
    {
        Usage = CgroupFiles.ReadUInt(dir, prefix + ".usage_in_bytes") ?? 0,
        Max = CgroupFiles.ReadUInt(dir, prefix + ".max_usage_in_bytes") ?? 0,
        Limit = CgroupFiles.ReadUInt(dir, prefix + ".limit_in_bytes") ?? 0,
        Failcnt = CgroupFiles.ReadUInt(dir, prefix + ".failcnt") ?? 0,
    };

    /// <summary>
    /// The CFQ scheduler's blkio.* files carry the full set; with BFQ the same data is under blkio.bfq.*; with
    /// neither, the throttling layer still counts bytes and I/Os.
    /// </summary>
    private static void Blkio(string dir, BlkioStats b)
    {
        string? prefix = CgroupFiles.Exists(dir, "blkio.io_service_bytes_recursive") ? "blkio."
            : CgroupFiles.Exists(dir, "blkio.bfq.io_service_bytes_recursive") ? "blkio.bfq." : null;
        if (prefix != null)
        {
            b.IoServiceBytesRecursive = StatsParsing.ParseBlkio(CgroupFiles.TryRead(dir, prefix + "io_service_bytes_recursive"));
            b.IoServicedRecursive = StatsParsing.ParseBlkio(CgroupFiles.TryRead(dir, prefix + "io_serviced_recursive"));
            b.IoQueuedRecursive = StatsParsing.ParseBlkio(CgroupFiles.TryRead(dir, prefix + "io_queued_recursive"));
            b.IoServiceTimeRecursive = StatsParsing.ParseBlkio(CgroupFiles.TryRead(dir, prefix + "io_service_time_recursive"));
            b.IoWaitTimeRecursive = StatsParsing.ParseBlkio(CgroupFiles.TryRead(dir, prefix + "io_wait_time_recursive"));
            b.IoMergedRecursive = StatsParsing.ParseBlkio(CgroupFiles.TryRead(dir, prefix + "io_merged_recursive"));
            b.IoTimeRecursive = StatsParsing.ParseBlkio(CgroupFiles.TryRead(dir, prefix + "time_recursive"));
            b.SectorsRecursive = StatsParsing.ParseBlkio(CgroupFiles.TryRead(dir, prefix + "sectors_recursive"));
            // BFQ without CONFIG_BFQ_CGROUP_DEBUG only has the byte and I/O counts; those are enough for docker stats.
            if (b.IoServiceBytesRecursive.Count > 0) return;
        }
        b.IoServiceBytesRecursive = StatsParsing.ParseBlkio(CgroupFiles.TryRead(dir, "blkio.throttle.io_service_bytes_recursive"));
        b.IoServicedRecursive = StatsParsing.ParseBlkio(CgroupFiles.TryRead(dir, "blkio.throttle.io_serviced_recursive"));
    }
}
