using System.Text;

namespace Berth.Engine.Store;

/// <summary>Crash-safe file replacement: write a temporary file, fsync it, rename it over the old one, fsync the directory.</summary>
public static class AtomicFile
{
    public static void Write(string path, byte[] data)
    {
        string dir = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(dir);
        string tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
        {
            fs.Write(data);
            fs.Flush(true);
        }
        File.Move(tmp, path, true);
        SyncDirectory(dir);
    }

    public static void WriteText(string path, string text) => Write(path, Encoding.UTF8.GetBytes(text));

    private static void SyncDirectory(string dir)
    {
        int fd = Berth.Linux.Interop.LibC.open(dir, Berth.Linux.Interop.O.RDONLY | Berth.Linux.Interop.O.DIRECTORY | Berth.Linux.Interop.O.CLOEXEC, 0);
        if (fd >= 0) { Fsync(fd); Berth.Linux.Interop.LibC.close(fd); }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "fsync")]
    private static extern int Fsync(int fd);
}
