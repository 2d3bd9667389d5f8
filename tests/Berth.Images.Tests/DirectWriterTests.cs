using System.Security.Cryptography;
using Berth.Images.Content;
using Berth.Images.Interop;
using Berth.Images.Layers;
using Berth.Images.Store;

namespace Berth.Images.Tests;

/// <summary>
/// Data written past the page cache (O_DIRECT, whole blocks) with the unaligned tail written the
/// ordinary way: every size, on a disk file system and on tmpfs, reads back byte for byte.
/// </summary>
public class DirectWriterTests
{
    private const int Capacity = 64 * 1024;
    private const long Ext4Magic = 0xEF53;

    public static TheoryData<int> Sizes => new() { 0, 1, 4095, 4096, 4097, Capacity - 1, Capacity, Capacity + 1, 3 * Capacity + 4096 + 123 };

    private static byte[] Random(int n)
    {
        var b = new byte[n];
        System.Random.Shared.NextBytes(b);
        return b;
    }

    private static unsafe long FsType(string path)
    {
        FsCalls.StatFsBuf st;
        Assert.Equal(0, FsCalls.statfs(path, &st));
        return st.Type;
    }

    private static void WriteFile(string path, byte[] data, bool throughFreeSpan, out bool wasDirect)
    {
        int fd = FsCalls.open(path, O.WRONLY | O.CREAT | O.EXCL | O.CLOEXEC, Mode.Rw);
        Assert.True(fd >= 0, $"create {path}");
        try
        {
            using var w = new DirectWriter(Capacity);
            w.Begin(fd, path);
            wasDirect = w.IsDirect;
            var rest = data.AsSpan();
            var step = 1;
            while (rest.Length > 0)
            {
                // Odd-sized pieces, as a decompressor hands them out.
                int n = Math.Min(rest.Length, step);
                if (throughFreeSpan)
                {
                    n = Math.Min(n, w.Free.Length);
                    rest[..n].CopyTo(w.Free);
                    w.Advance(n);
                }
                else w.Write(rest[..n]);
                rest = rest[n..];
                step = step * 3 + 7;
            }
            Assert.Equal(data.Length, w.Finish());
        }
        finally { FsCalls.close(fd); }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Every_size_reads_back_on_disk_and_on_tmpfs(int size)
    {
        var data = Random(size);
        foreach (var dir in new[] { Path.GetTempPath(), "/dev/shm" })
        {
            if (!Directory.Exists(dir)) continue;
            foreach (bool span in new[] { false, true })
            {
                string path = Path.Combine(dir, $"berth-direct-{Guid.NewGuid():N}");
                try
                {
                    WriteFile(path, data, span, out bool direct);
                    Assert.Equal(data, File.ReadAllBytes(path));
                    // On ext4 (this project's disk), the whole blocks really went past the page cache.
                    if (FsType(dir) == Ext4Magic) Assert.True(direct, $"O_DIRECT refused on ext4 at {dir}");
                }
                finally { File.Delete(path); }
            }
        }
    }

    [Fact]
    public void A_file_system_without_direct_io_gets_ordinary_writes()
    {
        // ramfs has no O_DIRECT at all: the flag is refused and every byte goes through the page cache.
        using var t = new TempDir();
        string dir = t.Sub("ramfs");
        TestProcess.Run("mount", "-t", "ramfs", "ramfs", dir);
        var data = Random(3 * Capacity + 4096 + 5);
        string path = Path.Combine(dir, "file");
        WriteFile(path, data, throughFreeSpan: false, out bool direct);
        Assert.False(direct);
        Assert.Equal(data, File.ReadAllBytes(path));
    }

    [Fact]
    public void Large_layer_files_keep_their_bytes_owner_mode_and_time()
    {
        using var t = new TempDir();
        string root = t.Sub("fs");
        int big = (int)LayerExtractor.DirectWriteMinimum;
        var files = new (string Name, byte[] Data)[]
        {
            ("exactly-the-minimum", Random(big)),
            ("aligned", Random(2 * big)),
            ("with-a-tail", Random(3 * big + 17)),
            ("just-below", Random(big - 1)),
        };
        var tar = new TarBuilder();
        foreach (var (name, data) in files) tar.Entry(name, '0', data, 4750, 1000, 1001, mtime: 1_400_000_000);
        new LayerExtractor(root, WhiteoutMode.Overlay).Extract(new MemoryStream(tar.Build()));
        foreach (var (name, data) in files)
        {
            string p = Path.Combine(root, name);
            Assert.Equal(SHA256.HashData(data), SHA256.HashData(File.ReadAllBytes(p)));
            Assert.True(FsCalls.TryLstat(At.FDCWD, p, out var st));
            Assert.Equal((Convert.ToUInt32("4750", 8), 1000u, 1001u, 1_400_000_000L, data.LongLength),
                (st.Mode & 0xFFF, st.Uid, st.Gid, st.Mtime.Sec, st.Size));
        }
    }

    [Fact]
    public void A_large_blob_with_an_unaligned_size_is_stored_whole_and_a_wrong_one_is_not()
    {
        using var t = new TempDir();
        var store = new ContentStore(t.Sub("content"));
        var data = Random(5 * 1024 * 1024 + 3);
        var digest = Digest.Of(data);
        using (var w = store.BeginWrite(digest, data.Length))
        {
            for (int off = 0; off < data.Length; off += 100_000) w.Write(data.AsSpan(off, Math.Min(100_000, data.Length - off)));
            Assert.Equal(digest, w.Commit());
        }
        Assert.Equal(data, File.ReadAllBytes(store.PathOf(digest)));

        var other = Random(2 * 1024 * 1024 + 9);
        var claimed = Digest.Of(Random(16));
        using (var w = store.BeginWrite(claimed, other.Length))
        {
            w.Write(other);
            Assert.Throws<ImageException>(() => w.Commit());
        }
        Assert.False(store.Exists(claimed));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(store.Root, "ingest")));
    }
}
