using System.Text.Json.Serialization;
using Berth.Linux.Cgroups;
using Berth.Oci.Runtime;

namespace Berth.Runtime;

/// <summary>The runtime-spec "features" document (features.md): what this runtime implements here.</summary>
public sealed class Features
{
    [JsonPropertyName("ociVersionMin")] public string OciVersionMin { get; set; } = "1.0.0";
    [JsonPropertyName("ociVersionMax")] public string OciVersionMax { get; set; } = SpecVersion.Current;
    [JsonPropertyName("hooks")] public List<string> Hooks { get; set; } = new() { "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop" };
    [JsonPropertyName("mountOptions")] public List<string> MountOptions { get; set; } = new();
    [JsonPropertyName("linux")] public LinuxFeatures Linux { get; set; } = new();
    [JsonPropertyName("annotations")] public Dictionary<string, string> Annotations { get; set; } = new() { ["org.berth.runtime.version"] = "0.1.0" };

    public static Features Current()
    {
        var f = new Features
        {
            MountOptions = new()
            {
                "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "lazytime", "mand", "noatime",
                "nodev", "nodiratime", "noexec", "nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid",
                "nosymfollow", "private", "rbind", "relatime", "remount", "ro", "rprivate", "rshared", "rslave",
                "runbindable", "rw", "shared", "slave", "strictatime", "suid", "symfollow", "sync", "unbindable",
            },
        };
        CgroupMode? mode = null;
        try { mode = CgroupLayout.Current.Mode; } catch (Exception) { }
        f.Linux.Cgroup = new CgroupFeatures { V1 = mode is CgroupMode.V1 or CgroupMode.Hybrid, V2 = mode is CgroupMode.V2 or CgroupMode.Hybrid, Systemd = false, SystemdUser = false };
        f.Linux.Apparmor = new EnabledFeature { Enabled = File.Exists("/sys/module/apparmor/parameters/enabled") };
        return f;
    }
}

public sealed class LinuxFeatures
{
    [JsonPropertyName("namespaces")] public List<string> Namespaces { get; set; } = new() { "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts" };
    [JsonPropertyName("capabilities")] public List<string> Capabilities { get; set; } = Berth.Linux.Security.Capabilities.Names.ToList();
    [JsonPropertyName("cgroup")] public CgroupFeatures Cgroup { get; set; } = new();
    [JsonPropertyName("seccomp")] public SeccompFeatures Seccomp { get; set; } = new();
    [JsonPropertyName("apparmor")] public EnabledFeature Apparmor { get; set; } = new();
    [JsonPropertyName("selinux")] public EnabledFeature Selinux { get; set; } = new();
}

public sealed class CgroupFeatures
{
    [JsonPropertyName("v1")] public bool V1 { get; set; }
    [JsonPropertyName("v2")] public bool V2 { get; set; }
    [JsonPropertyName("systemd")] public bool Systemd { get; set; }
    [JsonPropertyName("systemdUser")] public bool SystemdUser { get; set; }
}

public sealed class SeccompFeatures
{
    [JsonPropertyName("enabled")] public bool Enabled { get; set; } = true;
    [JsonPropertyName("actions")] public List<string> Actions { get; set; } = Bundle.SeccompValidation.Actions.ToList();
    [JsonPropertyName("operators")] public List<string> Operators { get; set; } = Bundle.SeccompValidation.Operators.ToList();
    [JsonPropertyName("archs")] public List<string> Archs { get; set; } = new() { "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32" };
    [JsonPropertyName("knownFlags")] public List<string> KnownFlags { get; set; } = new() { "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" };
}

public sealed class EnabledFeature
{
    [JsonPropertyName("enabled")] public bool Enabled { get; set; }
}
