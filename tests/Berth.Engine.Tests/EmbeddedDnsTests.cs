using Berth.Engine.Networks;

namespace Berth.Engine.Tests;

/// <summary>The DNS question parser of the embedded server (pure logic).</summary>
public sealed class EmbeddedDnsTests
{
    private static byte[] Query(string name, ushort type, byte flags2 = 0x01)
    {
        var q = new List<byte> { 0x12, 0x34, flags2, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
        foreach (var label in name.Split('.'))
        {
            q.Add((byte)label.Length);
            q.AddRange(System.Text.Encoding.ASCII.GetBytes(label));
        }
        q.AddRange([0, (byte)(type >> 8), (byte)type, 0, 1]);
        return q.ToArray();
    }

    [Fact]
    public void A_question_gives_its_name_type_and_end()
    {
        var q = Query("web.example", 1);
        Assert.True(EmbeddedDns.TryQuestion(q, out var name, out var type, out var end));
        Assert.Equal("web.example", name);
        Assert.Equal(1, type);
        Assert.Equal(q.Length, end);
        Assert.True(EmbeddedDns.TryQuestion(Query("db", 28), out _, out var aaaa, out _));
        Assert.Equal(28, aaaa);
    }

    [Fact]
    public void Truncated_compressed_or_non_query_messages_are_refused()
    {
        var q = Query("web", 1);
        Assert.False(EmbeddedDns.TryQuestion(q[..10], out _, out _, out _));
        Assert.False(EmbeddedDns.TryQuestion(q[..^2], out _, out _, out _));
        var pointer = (byte[])q.Clone();
        pointer[12] = 0xC0; // a compression pointer where a label should be
        Assert.False(EmbeddedDns.TryQuestion(pointer, out _, out _, out _));
        Assert.False(EmbeddedDns.TryQuestion(Query("web", 1, flags2: 0x28), out _, out _, out _)); // opcode 5 (update)
    }
}
