using Berth.Oci.Runtime;

namespace Berth.Linux.Cgroups.V2;

/// <summary>Writes spec resources into one cgroup2 directory.</summary>
internal static class V2ResourceWriter
{
    public static void Apply(string dir, LinuxResources r)
    {
        if (r.Memory is { } m) Memory(dir, m);
        if (r.Cpu is { } c) Cpu(dir, c);
        if (r.Pids is { } p) CgroupFiles.Write(dir, "pids.max", CgroupConversions.PidsLimit(p.Limit));
        if (r.BlockIo is { } b) Io(dir, b);
        if (r.HugepageLimits is { } hp)
            foreach (var h in hp)
                CgroupFiles.Write(dir, $"hugetlb.{RequirePageSize(h.PageSize)}.max", h.Limit.ToString());
        if (r.Rdma is { } rdma) Rdma(dir, rdma);
        // net_cls/net_prio have no v2 equivalent (v2 uses socket cgroup BPF); the spec's linux.resources.network
        // is ignored on v2, as runc and crun do.
        if (r.Unified is { } u) Unified(dir, u);
    }

    private static void Memory(string dir, LinuxMemory m)
    {
        // Swap first when raising, memory first when lowering is a v1 constraint only: v2 limits are independent.
        if (m.Limit is { } limit)
        {
            // v2 accepts a memory.max below the usage and then reclaims or OOM-kills; checkBeforeUpdate asks to refuse
            // instead (v1 refuses by itself with EBUSY).
            if (m.CheckBeforeUpdate == true && limit >= 0 && CgroupFiles.ReadUInt(dir, "memory.current") is { } usage && (ulong)limit < usage)
                throw new CgroupException($"memory.max={limit}: below the current usage {usage} (checkBeforeUpdate) ({dir})",
                    Interop.Errno.EBUSY, "memory.max", limit.ToString());
            CgroupFiles.Write(dir, "memory.max", CgroupConversions.V2Limit(limit));
        }
        if (m.Reservation is { } low) CgroupFiles.Write(dir, "memory.low", CgroupConversions.V2Limit(low));
        var swap = CgroupConversions.SwapToV2(m.Swap, m.Limit);
        if (swap != null)
        {
            // "max" is the default: a host without swap accounting needs no write for it.
            if (swap != "max" || CgroupFiles.Exists(dir, "memory.swap.max"))
                CgroupFiles.Write(dir, "memory.swap.max", swap);
        }
        // kernel / kernelTCP limits do not exist in v2 (kernel memory is always charged with user memory);
        // swappiness and disableOOMKiller have no v2 file either. All are ignored, as in runc and crun.
    }

    private static void Cpu(string dir, LinuxCpu c)
    {
        if (c.RealtimeRuntime is not null and not 0 || c.RealtimePeriod is not null and not 0)
            throw new CgroupException("cpu.realtimeRuntime/realtimePeriod: realtime scheduling limits are not supported by cgroup v2");
        if (c.Shares is { } shares && shares != 0)
            CgroupFiles.Write(dir, "cpu.weight", CgroupConversions.SharesToWeight(shares).ToString());
        if (c.Quota is not null || c.Period is not null and not 0)
        {
            // cpu.max is "quota period"; keep the part the spec leaves out.
            var cur = (CgroupFiles.TryRead(dir, "cpu.max") ?? "max 100000").Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var quota = c.Quota is { } q ? (q <= 0 ? "max" : q.ToString()) : cur[0];
            var period = c.Period is { } per and not 0 ? per.ToString() : cur.Length > 1 ? cur[1] : "100000";
            CgroupFiles.Write(dir, "cpu.max", $"{quota} {period}");
        }
        if (c.Burst is { } burst) CgroupFiles.Write(dir, "cpu.max.burst", burst.ToString());
        if (c.Idle is { } idle) CgroupFiles.Write(dir, "cpu.idle", idle.ToString());
        if (!string.IsNullOrEmpty(c.Cpus)) CgroupFiles.Write(dir, "cpuset.cpus", c.Cpus);
        if (!string.IsNullOrEmpty(c.Mems)) CgroupFiles.Write(dir, "cpuset.mems", c.Mems);
    }

    private static void Io(string dir, LinuxBlockIo b)
    {
        // BFQ takes the v1 weight range directly; the generic io.weight needs the 1..10000 scale.
        bool bfq = CgroupFiles.Exists(dir, "io.bfq.weight");
        if (b.Weight is { } w && w != 0)
        {
            if (bfq) CgroupFiles.Write(dir, "io.bfq.weight", w.ToString());
            else CgroupFiles.Write(dir, "io.weight", CgroupConversions.BlkioWeightToIoWeight(w).ToString());
        }
        if (b.WeightDevice is { } wd)
            foreach (var d in wd)
            {
                if (d.Weight is not { } dw || dw == 0) continue;
                if (bfq) CgroupFiles.Write(dir, "io.bfq.weight", $"{d.Major}:{d.Minor} {dw}");
                else CgroupFiles.Write(dir, "io.weight", $"{d.Major}:{d.Minor} {CgroupConversions.BlkioWeightToIoWeight(dw)}");
            }
        Throttle(dir, b.ThrottleReadBpsDevice, "rbps");
        Throttle(dir, b.ThrottleWriteBpsDevice, "wbps");
        Throttle(dir, b.ThrottleReadIopsDevice, "riops");
        Throttle(dir, b.ThrottleWriteIopsDevice, "wiops");
    }

    private static void Throttle(string dir, List<LinuxThrottleDevice>? list, string key)
    {
        if (list == null) return;
        // io.max takes one key per write; rate 0 removes the limit as it does in v1.
        foreach (var d in list)
            CgroupFiles.Write(dir, "io.max", $"{d.Major}:{d.Minor} {key}={(d.Rate == 0 ? "max" : d.Rate.ToString())}");
    }

    private static void Rdma(string dir, Dictionary<string, LinuxRdma> rdma)
    {
        foreach (var (device, lim) in rdma)
        {
            var parts = new List<string>();
            if (lim.HcaHandles is { } h) parts.Add($"hca_handle={h}");
            if (lim.HcaObjects is { } o) parts.Add($"hca_object={o}");
            if (parts.Count > 0) CgroupFiles.Write(dir, "rdma.max", $"{device} {string.Join(' ', parts)}");
        }
    }

    /// <summary>linux.resources.unified: file name -> value, written as given (the escape hatch for any v2 file).</summary>
    public static void Unified(string dir, Dictionary<string, string> unified)
    {
        foreach (var (key, value) in unified)
        {
            // A key is a file in this cgroup: no path separators, no way to reach a parent.
            if (key.Length == 0 || key.Contains('/') || key is "." or ".." || !key.Contains('.'))
                throw new CgroupException($"unified key \"{key}\": not a cgroup file name", fileName: key, value: value);
            if (!CgroupFiles.Exists(dir, key))
            {
                var controller = key[..key.IndexOf('.')];
                throw new CgroupException(
                    $"{key}={value}: no such cgroup file (controller \"{controller}\" unknown or not enabled) ({dir})",
                    Interop.Errno.ENOENT, key, value);
            }
            CgroupFiles.Write(dir, key, value);
        }
    }

    private static string RequirePageSize(string? s) =>
        string.IsNullOrEmpty(s) || s.Contains('/') ? throw new CgroupException($"hugepageLimits pageSize \"{s}\": invalid") : s;
}
