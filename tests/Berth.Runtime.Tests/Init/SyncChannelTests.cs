using Berth.Linux.Interop;
using Berth.Runtime.Init;

namespace Berth.Runtime.Tests.Init;

/// <summary>The parent/init socket: frames both ways, and an error that says the other end is gone.</summary>
public unsafe class SyncChannelTests
{
    private static (SyncChannel A, SyncChannel B) Pair()
    {
        int* sv = stackalloc int[2];
        Assert.Equal(0, LibC.socketpair(1 /* AF_UNIX */, 1 /* SOCK_STREAM */ | O.CLOEXEC, 0, sv));
        return (new SyncChannel(sv[0]), new SyncChannel(sv[1]));
    }

    [Fact]
    public void A_message_travels_and_a_closed_end_reads_as_null()
    {
        var (a, b) = Pair();
        using (a)
        using (b)
        {
            a.SendMessage("created");
            Assert.Equal("created", b.ReceiveMessage()!.Type);
            a.Dispose();
            Assert.Null(b.ReceiveMessage());
        }
    }

    [Fact]
    public void Writing_to_an_end_whose_process_is_gone_names_that_not_a_broken_pipe()
    {
        var (a, b) = Pair();
        using (a)
        {
            b.Dispose();
            var e = Assert.Throws<RuntimeException>(() => a.SendMessage("resume"));
            Assert.Equal("the process at the other end of the sync socket exited", e.Message);
        }
    }
}
