using Berth.Oci.Runtime;

namespace Berth.Linux.Cgroups.V1;

/// <summary>Writes spec resources into the v1 controller directories of one cgroup.</summary>
internal static class V1ResourceWriter
{
    /// <summary><paramref name="dirFor"/> maps a controller name to this cgroup's directory in its hierarchy (null: not mounted).</summary>
    public static void Apply(Func<string, string?> dirFor, LinuxResources r)
    {
        if (r.Memory is { } m) Memory(Need(dirFor, "memory", "linux.resources.memory"), m);
        if (r.Cpu is { } c)
        {
            if (c.Shares is not null || c.Quota is not null || c.Period is not null || c.Burst is not null ||
                c.RealtimeRuntime is not null || c.RealtimePeriod is not null || c.Idle is not null)
                Cpu(Need(dirFor, "cpu", "linux.resources.cpu"), c);
            if (!string.IsNullOrEmpty(c.Cpus) || !string.IsNullOrEmpty(c.Mems))
            {
                var dir = Need(dirFor, "cpuset", "linux.resources.cpu.cpus/mems");
                if (!string.IsNullOrEmpty(c.Cpus)) CgroupFiles.Write(dir, "cpuset.cpus", c.Cpus);
                if (!string.IsNullOrEmpty(c.Mems)) CgroupFiles.Write(dir, "cpuset.mems", c.Mems);
            }
        }
        if (r.Pids is { } p) CgroupFiles.Write(Need(dirFor, "pids", "linux.resources.pids"), "pids.max", CgroupConversions.PidsLimit(p.Limit));
        if (r.BlockIo is { } b) Blkio(Need(dirFor, "blkio", "linux.resources.blockIO"), b);
        if (r.HugepageLimits is { Count: > 0 } hp)
        {
            var dir = Need(dirFor, "hugetlb", "linux.resources.hugepageLimits");
            foreach (var h in hp)
            {
                if (string.IsNullOrEmpty(h.PageSize) || h.PageSize.Contains('/'))
                    throw new CgroupException($"hugepageLimits pageSize \"{h.PageSize}\": invalid");
                CgroupFiles.Write(dir, $"hugetlb.{h.PageSize}.limit_in_bytes", h.Limit.ToString());
            }
        }
        if (r.Network is { } n)
        {
            if (n.ClassId is { } cls) CgroupFiles.Write(Need(dirFor, "net_cls", "linux.resources.network.classID"), "net_cls.classid", cls.ToString());
            if (n.Priorities is { Count: > 0 } prios)
            {
                var dir = Need(dirFor, "net_prio", "linux.resources.network.priorities");
                // One "ifname prio" per write: the kernel parses a single pair per call.
                foreach (var pr in prios) CgroupFiles.Write(dir, "net_prio.ifpriomap", $"{pr.Name} {pr.Priority}");
            }
        }
        if (r.Rdma is { Count: > 0 } rdma)
        {
            var dir = Need(dirFor, "rdma", "linux.resources.rdma");
            foreach (var (device, lim) in rdma)
            {
                var parts = new List<string>();
                if (lim.HcaHandles is { } h) parts.Add($"hca_handle={h}");
                if (lim.HcaObjects is { } o) parts.Add($"hca_object={o}");
                if (parts.Count > 0) CgroupFiles.Write(dir, "rdma.max", $"{device} {string.Join(' ', parts)}");
            }
        }
        if (r.Devices is { } devices) Devices(Need(dirFor, "devices", "linux.resources.devices"), devices);
    }

    private static string Need(Func<string, string?> dirFor, string controller, string what) =>
        dirFor(controller) ?? throw new CgroupException($"{what}: the {controller} cgroup controller is not mounted");

    private static void Memory(string dir, LinuxMemory m)
    {
        bool memsw = CgroupFiles.Exists(dir, "memory.memsw.limit_in_bytes");
        long? swap = m.Swap is null or 0 ? null : m.Swap;
        if (m.Limit is { } limit)
        {
            if (swap is { } sw && memsw)
            {
                // The kernel keeps limit <= memsw.limit at every moment: when the limit goes up, raise memsw first;
                // when it goes down, lower the limit first. -1 (unlimited) counts as the largest value.
                var cur = (long)Math.Min(CgroupFiles.ReadUInt(dir, "memory.limit_in_bytes") ?? long.MaxValue, long.MaxValue);
                bool raising = limit < 0 || limit > cur;
                if (raising)
                {
                    CgroupFiles.Write(dir, "memory.memsw.limit_in_bytes", CgroupConversions.V1Limit(sw));
                    CgroupFiles.Write(dir, "memory.limit_in_bytes", CgroupConversions.V1Limit(limit));
                }
                else
                {
                    CgroupFiles.Write(dir, "memory.limit_in_bytes", CgroupConversions.V1Limit(limit));
                    CgroupFiles.Write(dir, "memory.memsw.limit_in_bytes", CgroupConversions.V1Limit(sw));
                }
            }
            else CgroupFiles.Write(dir, "memory.limit_in_bytes", CgroupConversions.V1Limit(limit));
        }
        else if (swap is { } sw && memsw)
            CgroupFiles.Write(dir, "memory.memsw.limit_in_bytes", CgroupConversions.V1Limit(sw));
        // Without memsw files (swap accounting off) a swap limit cannot be expressed; it is skipped like runc does.

        if (m.Reservation is { } res) CgroupFiles.Write(dir, "memory.soft_limit_in_bytes", CgroupConversions.V1Limit(res));
        // Kernel memory limits are deprecated (5.4) and refuse writes on newer kernels; only written where present.
        if (m.Kernel is { } k && CgroupFiles.Exists(dir, "memory.kmem.limit_in_bytes"))
            CgroupFiles.Write(dir, "memory.kmem.limit_in_bytes", CgroupConversions.V1Limit(k));
        if (m.KernelTcp is { } kt && CgroupFiles.Exists(dir, "memory.kmem.tcp.limit_in_bytes"))
            CgroupFiles.Write(dir, "memory.kmem.tcp.limit_in_bytes", CgroupConversions.V1Limit(kt));
        if (m.Swappiness is { } swp)
        {
            if (swp > 100) throw new CgroupException($"memory.swappiness={swp}: must be 0..100", fileName: "memory.swappiness", value: swp.ToString());
            CgroupFiles.Write(dir, "memory.swappiness", swp.ToString());
        }
        if (m.DisableOomKiller == true) CgroupFiles.Write(dir, "memory.oom_control", "1");
        if (m.UseHierarchy == true && CgroupFiles.Exists(dir, "memory.use_hierarchy"))
            CgroupFiles.Write(dir, "memory.use_hierarchy", "1");
    }

    private static void Cpu(string dir, LinuxCpu c)
    {
        if (c.Shares is { } shares && shares != 0) CgroupFiles.Write(dir, "cpu.shares", shares.ToString());
        // Period before quota: a new quota is checked against the period in force.
        if (c.Period is { } period && period != 0) CgroupFiles.Write(dir, "cpu.cfs_period_us", period.ToString());
        if (c.Quota is { } quota && quota != 0) CgroupFiles.Write(dir, "cpu.cfs_quota_us", quota < 0 ? "-1" : quota.ToString());
        if (c.Burst is { } burst) CgroupFiles.Write(dir, "cpu.cfs_burst_us", burst.ToString());
        // rt_runtime must fit into rt_period: period first.
        if (c.RealtimePeriod is { } rtp && rtp != 0 && CgroupFiles.Exists(dir, "cpu.rt_period_us"))
            CgroupFiles.Write(dir, "cpu.rt_period_us", rtp.ToString());
        if (c.RealtimeRuntime is { } rtr && rtr != 0)
        {
            if (!CgroupFiles.Exists(dir, "cpu.rt_runtime_us"))
                throw new CgroupException($"cpu.rt_runtime_us={rtr}: the kernel has no RT group scheduling ({dir})", Interop.Errno.ENOENT, "cpu.rt_runtime_us", rtr.ToString());
            CgroupFiles.Write(dir, "cpu.rt_runtime_us", rtr.ToString());
        }
        if (c.Idle is { } idle) CgroupFiles.Write(dir, "cpu.idle", idle.ToString());
    }

    private static void Blkio(string dir, LinuxBlockIo b)
    {
        // With the BFQ scheduler the weight files are blkio.bfq.*; with CFQ (older kernels) blkio.*.
        string weight = CgroupFiles.Exists(dir, "blkio.weight") || !CgroupFiles.Exists(dir, "blkio.bfq.weight") ? "blkio.weight" : "blkio.bfq.weight";
        string weightDevice = weight + "_device";
        if (b.Weight is { } w && w != 0) CgroupFiles.Write(dir, weight, w.ToString());
        if (b.LeafWeight is { } lw && lw != 0) CgroupFiles.Write(dir, "blkio.leaf_weight", lw.ToString());
        if (b.WeightDevice is { } wd)
            foreach (var d in wd)
            {
                if (d.Weight is { } dw && dw != 0) CgroupFiles.Write(dir, weightDevice, $"{d.Major}:{d.Minor} {dw}");
                if (d.LeafWeight is { } dl && dl != 0) CgroupFiles.Write(dir, "blkio.leaf_weight_device", $"{d.Major}:{d.Minor} {dl}");
            }
        Throttle(dir, b.ThrottleReadBpsDevice, "blkio.throttle.read_bps_device");
        Throttle(dir, b.ThrottleWriteBpsDevice, "blkio.throttle.write_bps_device");
        Throttle(dir, b.ThrottleReadIopsDevice, "blkio.throttle.read_iops_device");
        Throttle(dir, b.ThrottleWriteIopsDevice, "blkio.throttle.write_iops_device");
    }

    private static void Throttle(string dir, List<LinuxThrottleDevice>? list, string file)
    {
        if (list == null) return;
        foreach (var d in list) CgroupFiles.Write(dir, file, $"{d.Major}:{d.Minor} {d.Rate}");
    }

    /// <summary>
    /// Deny everything, then apply the spec's rules in order (later rules win, as in the spec). The list is
    /// the whole policy, so a rule set without a leading "deny all" still starts from nothing, as runc does.
    /// </summary>
    private static void Devices(string dir, List<LinuxDeviceCgroup> rules)
    {
        var normalized = rules.Select(DeviceRules.Normalize).ToList(); // validate all before the first write
        CgroupFiles.WriteInOrder(dir, normalized.Select(r => (r.Allow ? "devices.allow" : "devices.deny", DeviceRules.RenderV1(r)))
            .Prepend(("devices.deny", "a")));
    }
}
