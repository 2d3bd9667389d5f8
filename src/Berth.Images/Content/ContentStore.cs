using System.Security.Cryptography;
using Berth.Images.Interop;
using Berth.Images.Store;

namespace Berth.Images.Content;

/// <summary>
/// Content-addressable blobs under <c>ROOT/blobs/sha256/HEX</c>. A blob is written to
/// <c>ROOT/ingest/</c>, hashed while it is written, fsynced, checked against its expected
/// digest and size, and only then renamed into place: a blob path is never half-written.
/// </summary>
public sealed class ContentStore
{
    public string Root { get; }
    private readonly string _blobs;
    private readonly string _ingest;

    public ContentStore(string root)
    {
        Root = root;
        _blobs = Path.Combine(root, "blobs", "sha256");
        _ingest = Path.Combine(root, "ingest");
        Directory.CreateDirectory(_blobs);
        Directory.CreateDirectory(_ingest);
    }

    public string PathOf(Digest d) => Path.Combine(_blobs, d.Hex);

    public bool Exists(Digest d) => File.Exists(PathOf(d));

    public long SizeOf(Digest d)
    {
        var fi = new FileInfo(PathOf(d));
        if (!fi.Exists) throw new NotFoundException($"blob {d} not found in the content store");
        return fi.Length;
    }

    public Stream OpenRead(Digest d)
    {
        try
        {
            return new FileStream(PathOf(d), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        }
        catch (FileNotFoundException)
        {
            throw new NotFoundException($"blob {d} not found in the content store");
        }
    }

    public byte[] ReadAll(Digest d)
    {
        try { return File.ReadAllBytes(PathOf(d)); }
        catch (FileNotFoundException) { throw new NotFoundException($"blob {d} not found in the content store"); }
    }

    /// <summary>Writes bytes as a blob (verified against <paramref name="expected"/> when given).</summary>
    public Digest Put(ReadOnlySpan<byte> data, Digest? expected = null)
    {
        var actual = Digest.Of(data);
        if (expected is { } e && e != actual) throw new ImageException($"digest mismatch: expected {e}, content has {actual}");
        if (Exists(actual)) return actual;
        using var w = BeginWrite(actual, data.Length);
        w.Write(data);
        w.Commit();
        return actual;
    }

    /// <summary>Starts writing a blob. Dispose without <see cref="BlobWriter.Commit"/> discards it.</summary>
    public BlobWriter BeginWrite(Digest? expected, long? expectedSize) => new(this, expected, expectedSize);

    public IEnumerable<Digest> List()
    {
        foreach (var f in Directory.EnumerateFiles(_blobs))
        {
            var name = Path.GetFileName(f);
            if (Digest.TryParse("sha256:" + name, out var d, out _)) yield return d;
        }
    }

    public bool Delete(Digest d)
    {
        var p = PathOf(d);
        if (!File.Exists(p)) return false;
        File.Delete(p);
        return true;
    }

    /// <summary>Removes ingest files left by an interrupted write (a crash, a kill -9).</summary>
    public int CleanIngest(TimeSpan olderThan)
    {
        int n = 0;
        foreach (var f in Directory.EnumerateFiles(_ingest))
        {
            if (DateTime.UtcNow - File.GetLastWriteTimeUtc(f) < olderThan) continue;
            try { File.Delete(f); n++; } catch (IOException) { }
        }
        return n;
    }

    internal string NewIngestPath() => Path.Combine(_ingest, $"{Environment.ProcessId}-{Guid.NewGuid():N}");

    internal static void FsyncDirectory(string dir)
    {
        int fd = FsCalls.open(dir, O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0);
        if (fd < 0) return;
        FsCalls.fsync(fd);
        FsCalls.close(fd);
    }
}

/// <summary>
/// A blob being written: a write-only stream that hashes what passes through it. The data goes
/// to the disk past the page cache (<see cref="DirectWriter"/>): a blob is made durable before it
/// is used, and only push and save read it again.
/// </summary>
public sealed class BlobWriter : Stream
{
    private readonly ContentStore _store;
    private readonly Digest? _expected;
    private readonly long? _expectedSize;
    private readonly string _temp;
    private int _fd;
    private readonly DirectWriter _out;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _written;
    private bool _committed;

    internal BlobWriter(ContentStore store, Digest? expected, long? expectedSize)
    {
        _store = store;
        _expected = expected;
        _expectedSize = expectedSize;
        _temp = store.NewIngestPath();
        _fd = FsCalls.Check(FsCalls.open(_temp, O.WRONLY | O.CREAT | O.EXCL | O.CLOEXEC, Mode.RwRwRw), $"create {_temp}");
        // A small blob (a manifest, a config) needs no 1 MB buffer.
        _out = new DirectWriter(expectedSize is { } n && n < 1 << 20 ? (int)n : 1 << 20);
        _out.Begin(_fd, _temp);
    }

    public long Written => _written;
    public bool Committed => _committed;

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_verified is not null) throw new InvalidOperationException("blob already verified");
        _written += buffer.Length;
        if (_expectedSize is { } max && _written > max)
            throw new ImageException($"blob {_expected} is larger than its descriptor's {max} bytes");
        _hash.AppendData(buffer);
        _out.Write(buffer);
    }

    // Local disk writes: the synchronous path is the right one (and the one a FileStream would take).
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
        WriteAsync(buffer.AsMemory(offset, count), ct).AsTask();

    private Digest? _verified;

    /// <summary>Checks digest and size and hands the data to the kernel; the blob is not yet in place.</summary>
    public Digest Verify()
    {
        if (_verified is { } v) return v;
        var actual = Digest.FromHash(_hash.GetHashAndReset());
        if (_expectedSize is { } size && size != _written)
            throw new ImageException($"blob {_expected ?? actual} is truncated: {_written} of {size} bytes");
        if (_expected is { } e && e != actual)
            throw new ImageException($"digest mismatch: expected {e}, content has {actual}");
        _out.Finish();
        _verified = actual;
        return actual;
    }

    /// <summary>The ingest file, for a caller that makes it durable itself (see <see cref="Commit(bool)"/>).</summary>
    internal string TempPath => _temp;

    /// <summary>Checks digest and size, makes the data durable and renames it into place.</summary>
    public Digest Commit() => Commit(fsyncData: true);

    /// <summary>
    /// As <see cref="Commit()"/>; with <paramref name="fsyncData"/> false the caller has already made the
    /// verified data durable (a syncfs of the same filesystem after <see cref="Verify"/>), so only the
    /// rename and its directory are synced.
    /// </summary>
    public Digest Commit(bool fsyncData)
    {
        var actual = Verify();
        // fsync: the data written past the page cache may still sit in the disk's cache, and the
        // file's size and blocks are metadata the data needs.
        if (fsyncData) FsCalls.Check(FsCalls.fsync(_fd), $"fsync {_temp}");
        CloseFile();
        File.Move(_temp, _store.PathOf(actual), overwrite: true);
        ContentStore.FsyncDirectory(Path.GetDirectoryName(_store.PathOf(actual))!);
        _committed = true;
        return actual;
    }

    private void CloseFile()
    {
        if (_fd < 0) return;
        FsCalls.close(_fd);
        _fd = -1;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
            _out.Dispose();
            CloseFile();
            if (!_committed) try { File.Delete(_temp); } catch (IOException) { }
        }
        base.Dispose(disposing);
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _written;
    public override long Position { get => _written; set => throw new NotSupportedException(); }
    // Nothing to flush before Verify: the buffered part is written when the blob is complete.
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
