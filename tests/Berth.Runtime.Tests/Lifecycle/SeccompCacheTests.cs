using System.Text;
using Berth.Linux.Security;
using Berth.Runtime.Lifecycle;

namespace Berth.Runtime.Tests.Lifecycle;

/// <summary>The compiled-seccomp cache's pure parts: finding the section, the entry format.</summary>
public class SeccompCacheTests
{
    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void The_section_is_linux_seccomp_exactly_as_written()
    {
        string seccomp = "{ \"defaultAction\": \"SCMP_ACT_ALLOW\", /* c */ \"syscalls\": [ {\"names\":[\"mkdir\"], \"action\":\"SCMP_ACT_ERRNO\"} ] }";
        string config = "{\"ociVersion\":\"1.2.0\", \"seccomp\": {\"decoy\": 1}, \"linux\": {\"namespaces\": [{\"type\":\"pid\"}], \"seccomp\": " + seccomp + ", \"sysctl\": {}},}";
        Assert.Equal(seccomp, Encoding.UTF8.GetString(SeccompCache.RawSeccompSection(Utf8(config))!));
    }

    [Theory]
    [InlineData("{\"linux\": {\"namespaces\": []}}")]
    [InlineData("{\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\"}}")]
    [InlineData("{\"linux\": [1, 2]}")]
    [InlineData("[]")]
    public void Without_linux_seccomp_there_is_no_section(string config)
    {
        Assert.Null(SeccompCache.RawSeccompSection(Utf8(config)));
    }

    private static SeccompProgram Sample() => new()
    {
        Bpf = Enumerable.Range(0, 64).Select(i => (byte)i).ToArray(),
        Flags = SeccompFlags.Log | SeccompFlags.NewListener,
        UsesNotify = true,
        SkippedSyscalls = ["no_such_call", "also_unknown"],
        Warnings = ["linux.seccomp.syscalls[3]: contradicts an earlier rule"],
    };

    [Fact]
    public void An_entry_reads_back_as_the_program_it_stored()
    {
        byte[] identity = Utf8("kernel 6.18 / build X / {\"defaultAction\":\"SCMP_ACT_ALLOW\"}");
        var p = Sample();
        var back = SeccompCache.Decode(SeccompCache.Encode(identity, p), identity);
        Assert.NotNull(back);
        Assert.Equal(p.Bpf, back!.Bpf);
        Assert.Equal(p.Flags, back.Flags);
        Assert.True(back.UsesNotify);
        Assert.Equal(p.SkippedSyscalls, back.SkippedSyscalls);
        Assert.Equal(p.Warnings, back.Warnings);
    }

    [Fact]
    public void An_entry_for_another_identity_is_a_miss()
    {
        byte[] stored = SeccompCache.Encode(Utf8("profile A"), Sample());
        Assert.Null(SeccompCache.Decode(stored, Utf8("profile B")));
        Assert.Null(SeccompCache.Decode(stored, Utf8("profile A ")));
    }

    [Fact]
    public void A_damaged_entry_is_a_miss_not_an_error()
    {
        byte[] identity = Utf8("profile A");
        byte[] good = SeccompCache.Encode(identity, Sample());
        for (int len = 0; len < good.Length; len++)
            Assert.Null(SeccompCache.Decode(good[..len], identity));
        Assert.Null(SeccompCache.Decode([.. good, 0], identity));
        byte[] badMagic = (byte[])good.Clone();
        badMagic[0] = (byte)'X';
        Assert.Null(SeccompCache.Decode(badMagic, identity));
    }

    [Fact]
    public void The_hash_spreads_nearby_inputs()
    {
        Assert.NotEqual(SeccompCache.Fnv1a64(Utf8("ab")), SeccompCache.Fnv1a64(Utf8("ba")));
        Assert.Equal(0xcbf29ce484222325UL, SeccompCache.Fnv1a64([]));
    }
}
