using Berth.Oci.Runtime;
using Berth.Runtime.Bundle;
using Berth.Runtime.Hooks;
using Berth.Runtime.Lifecycle;

namespace Berth.Runtime.Tests.Conformance;

/// <summary>Rules from the runtime-spec that runtime-tools checks, tested without a container.</summary>
public class LifecycleRuleTests
{
    private static Spec Minimal(string rootfs) => new()
    {
        OciVersion = "1.2.0",
        Root = new Root { Path = rootfs },
        Linux = new Berth.Oci.Runtime.Linux { Namespaces = new() { new LinuxNamespace { Type = "mount" } } },
    };

    [Fact]
    public void A_config_without_process_is_valid_for_create()
    {
        string bundle = Directory.CreateTempSubdirectory("berth-spec-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(bundle, "rootfs"));
            // The spec: process is REQUIRED only when start is called.
            SpecValidator.Validate(Minimal("rootfs"), bundle, _ => true, _ => true);
        }
        finally { Directory.Delete(bundle, true); }
    }

    [Fact]
    public void Only_a_config_without_any_mount_namespace_builds_in_the_hosts()
    {
        var spec = Minimal("rootfs");
        Assert.False(HostMounts.InHostNamespace(spec));
        spec.Linux!.Namespaces = new() { new LinuxNamespace { Type = "mount", Path = "/proc/1/ns/mnt" } };
        Assert.False(HostMounts.InHostNamespace(spec)); // joined: built in that namespace
        spec.Linux.Namespaces = new() { new LinuxNamespace { Type = "pid" } };
        Assert.True(HostMounts.InHostNamespace(spec));
    }

    [Fact]
    public void Poststart_and_poststop_failures_are_warnings_and_the_remaining_hooks_run()
    {
        string dir = Directory.CreateTempSubdirectory("berth-hooks-").FullName;
        try
        {
            string log = Path.Combine(dir, "log");
            var hooks = new List<Hook>
            {
                new() { Path = "/bin/false", Args = new() { "false" } },
                new() { Path = "/nonexistent/hook" },
                new() { Path = "/bin/sh", Args = new() { "sh", "-c", $"echo second >> {log}" } },
            };
            var state = new ContainerState { Id = "x", Status = "running", Pid = 1, Bundle = dir };
            HookRunner.RunAllWarning(hooks, "poststart", state);
            Assert.Equal("second\n", File.ReadAllText(log));
            // The create-time hooks still fail the operation.
            Assert.Throws<RuntimeException>(() => HookRunner.RunAll(hooks, "prestart", state));
        }
        finally { Directory.Delete(dir, true); }
    }
}
