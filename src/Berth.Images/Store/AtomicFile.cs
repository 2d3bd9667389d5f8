using Berth.Images.Interop;

namespace Berth.Images.Store;

/// <summary>Write-temp, fsync, rename, fsync the directory: a reader sees the old file or the new one, never a part.</summary>
public static class AtomicFile
{
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> data)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        string temp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                fs.Write(data);
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
            Content.ContentStore.FsyncDirectory(dir);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public static void WriteAllText(string path, string text) => WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(text));
}

/// <summary>An advisory lock on a file (flock): exclusive for writers, shared for readers that must not see a collection.</summary>
public sealed class FileLock : IDisposable
{
    private readonly int _fd;

    private FileLock(int fd) => _fd = fd;

    public static FileLock Acquire(string path, bool exclusive)
    {
        int fd = FsCalls.Check(FsCalls.open(path, O.RDWR | O.CREAT | O.CLOEXEC, Mode.Rw), $"open {path}");
        while (FsCalls.flock(fd, exclusive ? FsCalls.LOCK_EX : FsCalls.LOCK_SH) != 0)
        {
            if (FsCalls.LastErrno == Errno.EINTR) continue;
            int e = FsCalls.LastErrno;
            FsCalls.close(fd);
            throw new SystemCallException(e, $"lock {path}");
        }
        return new FileLock(fd);
    }

    /// <summary>Takes the lock if it is free at once; null when someone else holds it.</summary>
    public static FileLock? TryAcquire(string path, bool exclusive)
    {
        int fd = FsCalls.Check(FsCalls.open(path, O.RDWR | O.CREAT | O.CLOEXEC, Mode.Rw), $"open {path}");
        if (FsCalls.flock(fd, (exclusive ? FsCalls.LOCK_EX : FsCalls.LOCK_SH) | FsCalls.LOCK_NB) == 0) return new FileLock(fd);
        FsCalls.close(fd);
        return null;
    }

    public void Dispose() => FsCalls.close(_fd);
}
