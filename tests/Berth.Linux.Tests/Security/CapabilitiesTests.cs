using Berth.Linux.Security;
using OciCapabilities = Berth.Oci.Runtime.Capabilities;

namespace Berth.Linux.Tests.Security;

public class CapabilitiesTests
{
    [Theory]
    [InlineData("CAP_CHOWN", 0)]
    [InlineData("CAP_DAC_READ_SEARCH", 2)]
    [InlineData("CAP_KILL", 5)]
    [InlineData("CAP_SETPCAP", 8)]
    [InlineData("CAP_NET_RAW", 13)]
    [InlineData("CAP_SYS_ADMIN", 21)]
    [InlineData("CAP_MKNOD", 27)]
    [InlineData("CAP_AUDIT_WRITE", 29)]
    [InlineData("CAP_SETFCAP", 31)]
    [InlineData("CAP_SYSLOG", 34)]
    [InlineData("CAP_AUDIT_READ", 37)]
    [InlineData("CAP_PERFMON", 38)]
    [InlineData("CAP_BPF", 39)]
    [InlineData("CAP_CHECKPOINT_RESTORE", 40)]
    public void Known_names_have_their_kernel_numbers(string name, int number)
    {
        Assert.True(Capabilities.TryParse(name, out var n));
        Assert.Equal(number, n);
        Assert.Equal(name, Capabilities.NameOf(number));
    }

    [Fact]
    public void Table_is_complete_and_unique()
    {
        Assert.Equal(41, Capabilities.Names.Count);
        Assert.Equal(Capabilities.Names.Count, Capabilities.Names.Distinct().Count());
        Assert.All(Capabilities.Names, n => Assert.StartsWith("CAP_", n));
    }

    [Theory]
    [InlineData("cap_chown")]
    [InlineData("CHOWN")]
    [InlineData("CAP_FOO")]
    [InlineData("")]
    [InlineData(null)]
    public void Oci_parse_is_exact(string? name) => Assert.False(Capabilities.TryParse(name, out _));

    [Theory]
    [InlineData("net_admin", 12)]
    [InlineData("NET_ADMIN", 12)]
    [InlineData("cap_net_admin", 12)]
    [InlineData("CAP_NET_ADMIN", 12)]
    [InlineData("Sys_Ptrace", 19)]
    public void Docker_names_are_case_insensitive_with_optional_prefix(string name, int number)
    {
        Assert.True(Capabilities.TryParseDockerName(name, out var n));
        Assert.Equal(number, n);
        Assert.Equal(Capabilities.Names[number], Capabilities.NormalizeDockerName(name));
    }

    [Theory]
    [InlineData("ALL")]
    [InlineData("foo")]
    [InlineData("CAP_")]
    [InlineData("")]
    public void Docker_parse_rejects_non_capabilities(string name) => Assert.False(Capabilities.TryParseDockerName(name, out _));

    [Fact]
    public void LastCap_is_the_kernel_value()
    {
        var expected = int.Parse(File.ReadAllText("/proc/sys/kernel/cap_last_cap").Trim());
        Assert.Equal(expected, Capabilities.LastCap);
    }

    [Fact]
    public void Unknown_name_is_reported_with_its_field()
    {
        var caps = new OciCapabilities { Bounding = new() { "CAP_KILL", "CAP_FOO" } };
        var e = Assert.Throws<SecurityConfigException>(() => CapabilitySet.FromSpec(caps));
        Assert.Equal("unknown capability \"CAP_FOO\" in process.capabilities.bounding", e.Message);

        caps = new OciCapabilities { Ambient = new() { "kill" } };
        e = Assert.Throws<SecurityConfigException>(() => CapabilitySet.FromSpec(caps));
        Assert.Equal("unknown capability \"kill\" in process.capabilities.ambient", e.Message);
    }

    [Fact]
    public void Sets_become_masks_and_names_beyond_the_kernel_are_skipped()
    {
        var caps = new OciCapabilities
        {
            Bounding = new() { "CAP_CHOWN", "CAP_KILL", "CAP_CHECKPOINT_RESTORE" },
            Effective = new() { "CAP_KILL" },
            Permitted = new() { "CAP_KILL", "CAP_CHOWN" },
        };
        var set = CapabilitySet.FromSpec(caps, lastCap: 39);
        Assert.Equal((1UL << 0) | (1UL << 5), set.Bounding);
        Assert.Equal(1UL << 5, set.Effective);
        Assert.Equal((1UL << 0) | (1UL << 5), set.Permitted);
        Assert.Equal(0UL, set.Inheritable);
        Assert.Equal(0UL, set.Ambient);
        var w = Assert.Single(set.Warnings);
        Assert.Contains("CAP_CHECKPOINT_RESTORE", w);
        Assert.Equal(new[] { "CAP_CHOWN", "CAP_KILL" }, CapabilitySet.NamesOf(set.Bounding));
    }

    [Fact]
    public void Missing_capabilities_mean_the_empty_sets()
    {
        var set = CapabilitySet.FromSpec(null);
        Assert.Equal(0UL, set.Bounding | set.Effective | set.Permitted | set.Inheritable | set.Ambient);
    }
}
