using System.Text.Json;
using Berth.Engine.Api;

namespace Berth.Engine.Containers;

/// <summary>
/// HostConfig settings that berthd does not carry out yet. Each one that is set (not docker's zero
/// value) becomes one of create's Warnings, which the docker CLI prints as "WARNING: ...", instead of
/// being dropped without a word.
/// </summary>
public static class IgnoredSettings
{
    private static readonly (string Field, string What)[] Unsupported =
    [
        ("Links", "links (--link)"),
        ("DeviceRequests", "device requests (--gpus)"),
        ("BlkioWeightDevice", "per-device block I/O weights (--blkio-weight-device)"),
        ("BlkioDeviceReadBps", "block I/O read limits (--device-read-bps)"),
        ("BlkioDeviceWriteBps", "block I/O write limits (--device-write-bps)"),
        ("BlkioDeviceReadIOps", "block I/O read limits (--device-read-iops)"),
        ("BlkioDeviceWriteIOps", "block I/O write limits (--device-write-iops)"),
        ("CpuRealtimePeriod", "realtime CPU period (--cpu-rt-period)"),
        ("CpuRealtimeRuntime", "realtime CPU runtime (--cpu-rt-runtime)"),
        ("KernelMemory", "kernel memory limit (--kernel-memory)"),
        ("KernelMemoryTCP", "kernel TCP memory limit"),
        ("StorageOpt", "storage options (--storage-opt)"),
        ("Annotations", "annotations (--annotation)"),
    ];

    public static void Warn(HostConfig hc, List<string> warnings)
    {
        var extra = hc.Extra;
        if (extra is null) return;
        foreach (var (field, what) in Unsupported)
            if (extra.TryGetValue(field, out var v) && IsSet(v))
                warnings.Add($"{what}{Describe(v)}: not supported by berthd yet, ignored{(field is "Links" ? " (use a user-defined network: its containers find each other by name)" : "")}.");
        if (extra.TryGetValue("MemorySwappiness", out var sw) && sw.ValueKind == JsonValueKind.Number && sw.GetInt64() != -1)
            warnings.Add("memory swappiness (--memory-swappiness): not supported by berthd yet, ignored.");
        if (Str(extra, "CgroupnsMode") is { Length: > 0 } cg && cg != "host")
            warnings.Add($"cgroup namespace mode \"{cg}\" (--cgroupns): not supported by berthd yet, the container shares the host's cgroup namespace.");
        if (Str(extra, "UsernsMode") is { Length: > 0 } us && us != "host")
            warnings.Add($"user namespace mode \"{us}\" (--userns): not supported by berthd yet, ignored.");
        if (Str(extra, "VolumeDriver") is { Length: > 0 } vd && vd != "local")
            warnings.Add($"volume driver \"{vd}\" (--volume-driver): only local is supported, ignored.");
        if (Str(extra, "Runtime") is { Length: > 0 } rt && rt is not ("runc" or "berth" or "berth-runtime"))
            warnings.Add($"runtime \"{rt}\" (--runtime): not available, the container runs with berth-runtime.");
    }

    // docker's zero values: null, false, 0, "", [] and {} (the CLI sends every field).
    private static bool IsSet(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined or JsonValueKind.False => false,
        JsonValueKind.Number => v.GetDouble() != 0,
        JsonValueKind.String => v.GetString() is { Length: > 0 },
        JsonValueKind.Array => v.GetArrayLength() > 0,
        JsonValueKind.Object => v.EnumerateObject().Any(),
        _ => true,
    };

    // The keys of an object setting (which ports), so the warning says what was dropped.
    private static string Describe(JsonElement v) =>
        v.ValueKind == JsonValueKind.Object ? " " + string.Join(", ", v.EnumerateObject().Select(p => p.Name)) : "";

    private static string? Str(Dictionary<string, JsonElement> extra, string key) =>
        extra.TryGetValue(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
