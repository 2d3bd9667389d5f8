using Berth.Linux.Interop;

namespace Berth.Linux.Io;

/// <summary>Sends a file descriptor over a unix socket with SCM_RIGHTS (the console socket protocol).</summary>
public static unsafe class FdPassing
{
    private const int SOL_SOCKET = 1, SCM_RIGHTS = 1;

    public static void Send(int socketFd, int fdToSend, string name)
    {
        var data = LibC.Utf8(name);
        // cmsghdr: len (8), level (4), type (4), then the int; CMSG_SPACE(4) = 24 on x86_64.
        byte* control = stackalloc byte[24];
        new Span<byte>(control, 24).Clear();
        *(ulong*)control = 16 + 4;
        *(int*)(control + 8) = SOL_SOCKET;
        *(int*)(control + 12) = SCM_RIGHTS;
        *(int*)(control + 16) = fdToSend;
        fixed (byte* d = data)
        {
            var iov = new IoVec { Base = d, Len = (nuint)(data.Length - 1) };
            var msg = new MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = 24 };
            if (LibC.sendmsg(socketFd, &msg, 0) < 0) throw new LinuxException(Errno.Last, "sending the console over the console socket");
        }
    }

    /// <summary>Receives one descriptor sent with <see cref="Send"/>; returns it, or throws.</summary>
    public static int Receive(int socketFd)
    {
        byte* control = stackalloc byte[24];
        byte* buf = stackalloc byte[4096];
        var iov = new IoVec { Base = buf, Len = 4096 };
        var msg = new MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = 24 };
        if (LibC.recvmsg(socketFd, &msg, 0x40000000 /* MSG_CMSG_CLOEXEC */) < 0) throw new LinuxException(Errno.Last, "recvmsg");
        if (msg.ControlLen < 20 || *(int*)(control + 12) != SCM_RIGHTS) throw new IOException("no file descriptor received");
        return *(int*)(control + 16);
    }

    /// <summary>Connects a stream unix socket to <paramref name="path"/> (CLOEXEC).</summary>
    public static int ConnectUnix(string path)
    {
        int fd = Errno.Check(LibC.socket(1 /* AF_UNIX */, 1 /* SOCK_STREAM */ | O.CLOEXEC, 0), "socket");
        var bytes = LibC.Utf8(path);
        if (bytes.Length > 108) { LibC.close(fd); throw new ArgumentException($"socket path too long: {path}"); }
        byte* addr = stackalloc byte[110];
        new Span<byte>(addr, 110).Clear();
        *(ushort*)addr = 1;
        bytes.AsSpan().CopyTo(new Span<byte>(addr + 2, 108));
        if (LibC.connect(fd, addr, (uint)(2 + bytes.Length)) < 0)
        {
            int e = Errno.Last;
            LibC.close(fd);
            throw new LinuxException(e, $"connect {path}");
        }
        return fd;
    }
}
