using Berth.Linux.Security;
using OciCapabilities = Berth.Oci.Runtime.Capabilities;

namespace Berth.Linux.Tests.Security;

/// <summary>Real-kernel tests: each changes capabilities only on a dedicated thread that then ends.</summary>
public class CapabilityKernelTests
{
    private static List<string> AllBut(params string[] except) =>
        Capabilities.Names.Take(Capabilities.LastCap + 1).Where(n => !except.Contains(n)).ToList();

    [Fact]
    public void DropBounding_removes_exactly_the_missing_capabilities_on_this_thread_only()
    {
        ulong before = DedicatedThread.StatusMask("CapBnd");
        Assert.True((before & (1UL << 13)) != 0, "the test needs CAP_NET_RAW in the bounding set");

        var set = CapabilitySet.FromSpec(new OciCapabilities { Bounding = AllBut("CAP_NET_RAW", "CAP_SYS_BOOT") });
        var (during, after) = DedicatedThread.Run(() =>
        {
            ulong b = DedicatedThread.StatusMask("CapBnd");
            set.DropBounding();
            return (b, DedicatedThread.StatusMask("CapBnd"));
        });
        Assert.Equal(before, during);
        Assert.Equal(before & ~((1UL << 13) | (1UL << 22)), after);
        Assert.Equal(before, DedicatedThread.StatusMask("CapBnd")); // the test thread keeps its set
    }

    [Fact]
    public void ApplyProcessSets_sets_effective_permitted_inheritable_and_ambient()
    {
        var set = CapabilitySet.FromSpec(new OciCapabilities
        {
            Bounding = AllBut(),
            Effective = new() { "CAP_KILL", "CAP_CHOWN" },
            Permitted = new() { "CAP_KILL", "CAP_CHOWN", "CAP_NET_BIND_SERVICE" },
            Inheritable = new() { "CAP_KILL", "CAP_NET_BIND_SERVICE" },
            Ambient = new() { "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN" },
        });
        var r = DedicatedThread.Run(() =>
        {
            var warnings = set.Apply();
            return (warnings, eff: DedicatedThread.StatusMask("CapEff"), prm: DedicatedThread.StatusMask("CapPrm"),
                inh: DedicatedThread.StatusMask("CapInh"), amb: DedicatedThread.StatusMask("CapAmb"));
        });
        Assert.Equal((1UL << 5) | (1UL << 0), r.eff);
        Assert.Equal((1UL << 5) | (1UL << 0) | (1UL << 10), r.prm);
        Assert.Equal((1UL << 5) | (1UL << 10), r.inh);
        Assert.Equal((1UL << 5) | (1UL << 10), r.amb); // CAP_CHOWN is not inheritable: refused, reported
        var w = Assert.Single(r.warnings);
        Assert.Contains("CAP_CHOWN", w);
        Assert.NotEqual(r.eff, DedicatedThread.StatusMask("CapEff"));
    }

    [Fact]
    public void Effective_outside_permitted_is_a_kernel_error()
    {
        var set = CapabilitySet.FromSpec(new OciCapabilities
        {
            Effective = new() { "CAP_KILL", "CAP_CHOWN" },
            Permitted = new() { "CAP_KILL" },
        });
        var e = Assert.Throws<LinuxException>(() => DedicatedThread.Run(() => set.ApplyProcessSets()));
        Assert.Equal(1, e.ErrorCode);
        Assert.StartsWith("capset(", e.Message);
    }
}
