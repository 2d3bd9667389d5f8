namespace Berth.Oci.Runtime.Reading;

// The readers of linux.resources (Runtime/Resources.cs), also the document of `update -r`;
// why by hand: see OciReader.Spec.cs.
public static partial class OciReader
{
    public static LinuxResources? ParseLinuxResources(ReadOnlySpan<byte> json) => JsonCursor.ReadDocument(json, ReadLinuxResources);

    public static LinuxResources ReadLinuxResources(ref JsonCursor c)
    {
        if (!c.StartObject("an object (LinuxResources)")) return null!;
        var v = new LinuxResources();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "devices": v.Devices = c.List(ReadLinuxDeviceCgroup); break;
                case "memory": v.Memory = ReadLinuxMemory(ref c); break;
                case "cpu": v.Cpu = ReadLinuxCpu(ref c); break;
                case "pids": v.Pids = ReadLinuxPids(ref c); break;
                case "blockIO": v.BlockIo = ReadLinuxBlockIo(ref c); break;
                case "hugepageLimits": v.HugepageLimits = c.List(ReadLinuxHugepageLimit); break;
                case "network": v.Network = ReadLinuxNetwork(ref c); break;
                case "rdma": v.Rdma = c.Map(ReadLinuxRdma); break;
                case "unified": v.Unified = c.Map(JsonCursor.StringElement); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static LinuxDeviceCgroup ReadLinuxDeviceCgroup(ref JsonCursor c)
    {
        if (!c.StartObject("an object (LinuxDeviceCgroup)")) return null!;
        var v = new LinuxDeviceCgroup();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "allow": v.Allow = c.Bool(); break;
                case "type": v.Type = c.String(); break;
                case "major": v.Major = c.Int64OrNull(); break;
                case "minor": v.Minor = c.Int64OrNull(); break;
                case "access": v.Access = c.String(); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static LinuxMemory ReadLinuxMemory(ref JsonCursor c)
    {
        if (!c.StartObject("an object (LinuxMemory)")) return null!;
        var v = new LinuxMemory();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "limit": v.Limit = c.Int64OrNull(); break;
                case "reservation": v.Reservation = c.Int64OrNull(); break;
                case "swap": v.Swap = c.Int64OrNull(); break;
                case "kernel": v.Kernel = c.Int64OrNull(); break;
                case "kernelTCP": v.KernelTcp = c.Int64OrNull(); break;
                case "swappiness": v.Swappiness = c.UInt64OrNull(); break;
                case "disableOOMKiller": v.DisableOomKiller = c.BoolOrNull(); break;
                case "useHierarchy": v.UseHierarchy = c.BoolOrNull(); break;
                case "checkBeforeUpdate": v.CheckBeforeUpdate = c.BoolOrNull(); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static LinuxCpu ReadLinuxCpu(ref JsonCursor c)
    {
        if (!c.StartObject("an object (LinuxCpu)")) return null!;
        var v = new LinuxCpu();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "shares": v.Shares = c.UInt64OrNull(); break;
                case "quota": v.Quota = c.Int64OrNull(); break;
                case "burst": v.Burst = c.UInt64OrNull(); break;
                case "period": v.Period = c.UInt64OrNull(); break;
                case "realtimeRuntime": v.RealtimeRuntime = c.Int64OrNull(); break;
                case "realtimePeriod": v.RealtimePeriod = c.UInt64OrNull(); break;
                case "cpus": v.Cpus = c.String(); break;
                case "mems": v.Mems = c.String(); break;
                case "idle": v.Idle = c.Int64OrNull(); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static LinuxPids ReadLinuxPids(ref JsonCursor c)
    {
        if (!c.StartObject("an object (LinuxPids)")) return null!;
        var v = new LinuxPids();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "limit": v.Limit = c.Int64(); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static LinuxBlockIo ReadLinuxBlockIo(ref JsonCursor c)
    {
        if (!c.StartObject("an object (LinuxBlockIo)")) return null!;
        var v = new LinuxBlockIo();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "weight": v.Weight = c.UInt16OrNull(); break;
                case "leafWeight": v.LeafWeight = c.UInt16OrNull(); break;
                case "weightDevice": v.WeightDevice = c.List(ReadLinuxWeightDevice); break;
                case "throttleReadBpsDevice": v.ThrottleReadBpsDevice = c.List(ReadLinuxThrottleDevice); break;
                case "throttleWriteBpsDevice": v.ThrottleWriteBpsDevice = c.List(ReadLinuxThrottleDevice); break;
                case "throttleReadIOPSDevice": v.ThrottleReadIopsDevice = c.List(ReadLinuxThrottleDevice); break;
                case "throttleWriteIOPSDevice": v.ThrottleWriteIopsDevice = c.List(ReadLinuxThrottleDevice); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static LinuxWeightDevice ReadLinuxWeightDevice(ref JsonCursor c)
    {
        if (!c.StartObject("an object (LinuxWeightDevice)")) return null!;
        var v = new LinuxWeightDevice();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "major": v.Major = c.Int64(); break;
                case "minor": v.Minor = c.Int64(); break;
                case "weight": v.Weight = c.UInt16OrNull(); break;
                case "leafWeight": v.LeafWeight = c.UInt16OrNull(); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static LinuxThrottleDevice ReadLinuxThrottleDevice(ref JsonCursor c)
    {
        if (!c.StartObject("an object (LinuxThrottleDevice)")) return null!;
        var v = new LinuxThrottleDevice();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "major": v.Major = c.Int64(); break;
                case "minor": v.Minor = c.Int64(); break;
                case "rate": v.Rate = c.UInt64(); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static LinuxHugepageLimit ReadLinuxHugepageLimit(ref JsonCursor c)
    {
        if (!c.StartObject("an object (LinuxHugepageLimit)")) return null!;
        var v = new LinuxHugepageLimit();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "pageSize": v.PageSize = c.String(); break;
                case "limit": v.Limit = c.UInt64(); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static LinuxNetwork ReadLinuxNetwork(ref JsonCursor c)
    {
        if (!c.StartObject("an object (LinuxNetwork)")) return null!;
        var v = new LinuxNetwork();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "classID": v.ClassId = c.UInt32OrNull(); break;
                case "priorities": v.Priorities = c.List(ReadLinuxInterfacePriority); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static LinuxInterfacePriority ReadLinuxInterfacePriority(ref JsonCursor c)
    {
        if (!c.StartObject("an object (LinuxInterfacePriority)")) return null!;
        var v = new LinuxInterfacePriority();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "name": v.Name = c.String(); break;
                case "priority": v.Priority = c.UInt32(); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static LinuxRdma ReadLinuxRdma(ref JsonCursor c)
    {
        if (!c.StartObject("an object (LinuxRdma)")) return null!;
        var v = new LinuxRdma();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "hcaHandles": v.HcaHandles = c.UInt32OrNull(); break;
                case "hcaObjects": v.HcaObjects = c.UInt32OrNull(); break;
                default: c.Skip(); break;
            }
        return v;
    }
}
