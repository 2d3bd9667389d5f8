using System.Text.Json.Serialization;

namespace Berth.Linux.Cgroups.Stats;

// The shape and JSON names follow the data of `runc events --stats`, so tools that read runc's
// output (containerd, docker stats) read ours. All CPU times are nanoseconds.

public sealed class CgroupStats
{
    [JsonPropertyName("cpu")] public CpuStats Cpu { get; set; } = new();
    [JsonPropertyName("memory")] public MemoryStats Memory { get; set; } = new();
    [JsonPropertyName("pids")] public PidsStats Pids { get; set; } = new();
    [JsonPropertyName("blkio")] public BlkioStats Blkio { get; set; } = new();
    /// <summary>Keyed by page size as the kernel names it in file names ("2MB", "1GB").</summary>
    [JsonPropertyName("hugetlb")] public Dictionary<string, HugetlbStats> Hugetlb { get; set; } = new();
}

public sealed class CpuStats
{
    [JsonPropertyName("usage")] public CpuUsage Usage { get; set; } = new();
    [JsonPropertyName("throttling")] public CpuThrottling Throttling { get; set; } = new();
}

public sealed class CpuUsage
{
    [JsonPropertyName("total")] public ulong Total { get; set; }
    [JsonPropertyName("percpu")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<ulong>? PerCpu { get; set; }
    [JsonPropertyName("percpu_kernel")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<ulong>? PerCpuKernel { get; set; }
    [JsonPropertyName("percpu_user")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<ulong>? PerCpuUser { get; set; }
    [JsonPropertyName("kernel")] public ulong Kernel { get; set; }
    [JsonPropertyName("user")] public ulong User { get; set; }
}

public sealed class CpuThrottling
{
    [JsonPropertyName("periods")] public ulong Periods { get; set; }
    [JsonPropertyName("throttled_periods")] public ulong ThrottledPeriods { get; set; }
    [JsonPropertyName("throttled_time")] public ulong ThrottledTime { get; set; }
}

public sealed class MemoryStats
{
    /// <summary>Page cache bytes (v1 total_cache, v2 file).</summary>
    [JsonPropertyName("cache")] public ulong Cache { get; set; }
    [JsonPropertyName("usage")] public MemoryEntry Usage { get; set; } = new();
    /// <summary>memory+swap, as on v1 (v2 values are converted to the same meaning).</summary>
    [JsonPropertyName("swap")] public MemoryEntry Swap { get; set; } = new();
    [JsonPropertyName("kernel")] public MemoryEntry Kernel { get; set; } = new();
    [JsonPropertyName("kernelTCP")] public MemoryEntry KernelTcp { get; set; } = new();
    [JsonPropertyName("raw")] public Dictionary<string, ulong> Raw { get; set; } = new();
}

public sealed class MemoryEntry
{
    /// <summary>ulong.MaxValue-ish kernel "unlimited" values are reported as the kernel shows them.</summary>
    [JsonPropertyName("limit")] public ulong Limit { get; set; }
    [JsonPropertyName("usage")] public ulong Usage { get; set; }
    [JsonPropertyName("max")] public ulong Max { get; set; }
    [JsonPropertyName("failcnt")] public ulong Failcnt { get; set; }
}

public sealed class PidsStats
{
    [JsonPropertyName("current")] public ulong Current { get; set; }
    /// <summary>0 means no limit ("max").</summary>
    [JsonPropertyName("limit")] public ulong Limit { get; set; }
}

public sealed class BlkioStats
{
    [JsonPropertyName("ioServiceBytesRecursive")] public List<BlkioEntry> IoServiceBytesRecursive { get; set; } = new();
    [JsonPropertyName("ioServicedRecursive")] public List<BlkioEntry> IoServicedRecursive { get; set; } = new();
    [JsonPropertyName("ioQueueRecursive")] public List<BlkioEntry> IoQueuedRecursive { get; set; } = new();
    [JsonPropertyName("ioServiceTimeRecursive")] public List<BlkioEntry> IoServiceTimeRecursive { get; set; } = new();
    [JsonPropertyName("ioWaitTimeRecursive")] public List<BlkioEntry> IoWaitTimeRecursive { get; set; } = new();
    [JsonPropertyName("ioMergedRecursive")] public List<BlkioEntry> IoMergedRecursive { get; set; } = new();
    [JsonPropertyName("ioTimeRecursive")] public List<BlkioEntry> IoTimeRecursive { get; set; } = new();
    [JsonPropertyName("sectorsRecursive")] public List<BlkioEntry> SectorsRecursive { get; set; } = new();
}

public sealed class BlkioEntry
{
    [JsonPropertyName("major")] public ulong Major { get; set; }
    [JsonPropertyName("minor")] public ulong Minor { get; set; }
    [JsonPropertyName("op")] public string Op { get; set; } = "";
    [JsonPropertyName("value")] public ulong Value { get; set; }
}

public sealed class HugetlbStats
{
    [JsonPropertyName("usage")] public ulong Usage { get; set; }
    [JsonPropertyName("max")] public ulong Max { get; set; }
    [JsonPropertyName("failcnt")] public ulong Failcnt { get; set; }
}
