using Berth.Linux;
using Berth.Linux.Interop;
using Berth.Linux.Io;

namespace Berth.Runtime.Init;

/// <summary>
/// The container's terminal: a pty from the container's own devpts, whose master goes to
/// the caller over the console socket (SCM_RIGHTS) and whose slave becomes stdio,
/// the controlling terminal and /dev/console.
/// </summary>
internal static unsafe class ContainerConsole
{
    private const ulong TIOCSCTTY = 0x540E, TIOCSWINSZ = 0x5414, TIOCSPTLCK = 0x40045431, TIOCGPTN = 0x80045430;

    /// <summary>Creates the pty, sends the master, returns the slave fd.</summary>
    public static int Setup(int consoleSocket, uint rows, uint cols, bool bindDevConsole)
    {
        int master = Errno.Check(LibC.open("/dev/ptmx", O.RDWR | O.NOCTTY | O.CLOEXEC, 0), "open /dev/ptmx");
        try
        {
            int unlock = 0;
            Errno.Check(LibC.ioctl(master, TIOCSPTLCK, &unlock), "unlock the pty");
            uint n;
            Errno.Check(LibC.ioctl(master, TIOCGPTN, &n), "pty number");
            string slavePath = $"/dev/pts/{n}";
            int slave = Errno.Check(LibC.open(slavePath, O.RDWR | O.NOCTTY | O.CLOEXEC, 0), $"open {slavePath}");
            if (rows > 0 || cols > 0)
            {
                ushort* ws = stackalloc ushort[4];
                ws[0] = (ushort)rows; ws[1] = (ushort)cols; ws[2] = 0; ws[3] = 0;
                Errno.Check(LibC.ioctl(slave, TIOCSWINSZ, ws), "set the console size");
            }
            if (bindDevConsole)
            {
                int f = LibC.open("/dev/console", O.CREAT | O.WRONLY | O.CLOEXEC | O.NOFOLLOW, 0x1b6 /* 0666 */);
                if (f >= 0) LibC.close(f);
                if (LibC.mount(slavePath, "/dev/console", null, MS.BIND, null) < 0)
                    throw new LinuxException(Errno.Last, "bind the console on /dev/console");
            }
            FdPassing.Send(consoleSocket, master, slavePath);
            return slave;
        }
        finally { LibC.close(master); }
    }

    /// <summary>Makes the slave the process's stdio and controlling terminal.</summary>
    public static void Attach(int slave)
    {
        for (int i = 0; i < 3; i++) Errno.Check(LibC.dup3(slave, i, 0), "dup the console");
        Errno.Check(LibC.ioctl(0, TIOCSCTTY, null), "set the controlling terminal");
        if (slave > 2) LibC.close(slave);
    }
}
