using Berth.Linux.Cgroups.Stats;

namespace Berth.Linux.Cgroups.V2;

/// <summary>Reads a cgroup2 directory's statistics into the runc-shaped model; missing files leave zeros.</summary>
internal static class V2StatsReader
{
    public static CgroupStats Read(string dir)
    {
        var s = new CgroupStats();

        var cpu = CgroupFiles.ReadKeyValues(dir, "cpu.stat");
        s.Cpu.Usage.Total = cpu.GetValueOrDefault("usage_usec") * 1000;
        s.Cpu.Usage.User = cpu.GetValueOrDefault("user_usec") * 1000;
        s.Cpu.Usage.Kernel = cpu.GetValueOrDefault("system_usec") * 1000;
        s.Cpu.Throttling.Periods = cpu.GetValueOrDefault("nr_periods");
        s.Cpu.Throttling.ThrottledPeriods = cpu.GetValueOrDefault("nr_throttled");
        s.Cpu.Throttling.ThrottledTime = cpu.GetValueOrDefault("throttled_usec") * 1000;

        var raw = CgroupFiles.ReadKeyValues(dir, "memory.stat");
        s.Memory.Raw = raw;
        s.Memory.Cache = raw.GetValueOrDefault("file");
        s.Memory.Usage.Usage = CgroupFiles.ReadUInt(dir, "memory.current") ?? 0;
        s.Memory.Usage.Limit = CgroupFiles.ReadUInt(dir, "memory.max") ?? 0;
        s.Memory.Usage.Max = CgroupFiles.ReadUInt(dir, "memory.peak") ?? 0;
        s.Memory.Usage.Failcnt = CgroupFiles.ReadKeyValues(dir, "memory.events").GetValueOrDefault("max");
        // Report swap as memory+swap, the v1 meaning the model carries.
        if (CgroupFiles.ReadUInt(dir, "memory.swap.current") is { } swapCur)
        {
            s.Memory.Swap.Usage = swapCur + s.Memory.Usage.Usage;
            var swapMax = CgroupFiles.ReadUInt(dir, "memory.swap.max") ?? ulong.MaxValue;
            s.Memory.Swap.Limit = swapMax == ulong.MaxValue || s.Memory.Usage.Limit == ulong.MaxValue
                ? ulong.MaxValue : swapMax + s.Memory.Usage.Limit;
            s.Memory.Swap.Failcnt = CgroupFiles.ReadKeyValues(dir, "memory.swap.events").GetValueOrDefault("max");
        }

        s.Pids.Current = CgroupFiles.ReadUInt(dir, "pids.current") ?? 0;
        var pidsMax = CgroupFiles.ReadUInt(dir, "pids.max") ?? 0;
        s.Pids.Limit = pidsMax == ulong.MaxValue ? 0 : pidsMax;

        StatsParsing.ParseIoStat(CgroupFiles.TryRead(dir, "io.stat"), s.Blkio);

        foreach (var size in StatsParsing.HugePageSizes())
        {
            var cur = CgroupFiles.ReadUInt(dir, $"hugetlb.{size}.current");
            if (cur is null) continue;
            s.Hugetlb[size] = new HugetlbStats
            {
                Usage = cur.Value,
                Max = CgroupFiles.ReadUInt(dir, $"hugetlb.{size}.max") ?? 0,
                Failcnt = CgroupFiles.ReadKeyValues(dir, $"hugetlb.{size}.events").GetValueOrDefault("max"),
            };
        }
        return s;
    }
}
