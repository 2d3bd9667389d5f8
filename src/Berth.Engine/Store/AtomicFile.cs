using System.Text;

namespace Berth.Engine.Store;

/// <summary>Crash-safe file replacement: write a temporary file, fsync it, rename it over the old one, fsync the directory.</summary>
public static class AtomicFile
{
    /// <param name="durable">false: still atomic (a reader, or a daemon killed at any moment, sees the old or the new
    /// file), but not synced to disk, for facts that a machine crash makes moot anyway.</param>
    public static void Write(string path, byte[] data, bool durable = true)
    {
        string dir = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(dir);
        string tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
        {
            fs.Write(data);
            fs.Flush(durable);
        }
        File.Move(tmp, path, true);
        if (durable) SyncDirectory(dir);
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
