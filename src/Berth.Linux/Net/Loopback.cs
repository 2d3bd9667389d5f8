using Berth.Linux.Interop;

namespace Berth.Linux.Net;

/// <summary>`ip link set lo up` for the calling thread's network namespace: one ioctl pair, no netlink needed.</summary>
public static unsafe class Loopback
{
    private const int AF_INET = 2, SOCK_DGRAM = 2;
    private const ulong SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914;
    private const short IFF_UP = 1;

    public static void BringUp()
    {
        int s = Errno.Check(LibC.socket(AF_INET, SOCK_DGRAM | O.CLOEXEC, 0), "socket for lo");
        try
        {
            byte* ifr = stackalloc byte[40]; // struct ifreq: the name, then the flags in the union
            new Span<byte>(ifr, 40).Clear();
            "lo"u8.CopyTo(new Span<byte>(ifr, 16));
            Errno.Check(LibC.ioctl(s, SIOCGIFFLAGS, ifr), "SIOCGIFFLAGS lo");
            if ((*(short*)(ifr + 16) & IFF_UP) != 0) return;
            *(short*)(ifr + 16) |= IFF_UP;
            Errno.Check(LibC.ioctl(s, SIOCSIFFLAGS, ifr), "SIOCSIFFLAGS lo");
        }
        finally { LibC.close(s); }
    }
}
