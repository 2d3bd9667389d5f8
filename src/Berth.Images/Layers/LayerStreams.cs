using System.IO.Compression;
using System.Security.Cryptography;
using Berth.Images.Content;
using Berth.Images.Models;

namespace Berth.Images.Layers;

/// <summary>A read-only stream that hashes (sha256) and counts what is read through it.</summary>
public sealed class HashingReadStream : ForwardOnlyReadStream
{
    private readonly Stream _inner;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _count;

    public HashingReadStream(Stream inner) => _inner = inner;

    public long Count => _count;

    public Digest Digest() => Content.Digest.FromHash(_hash.GetCurrentHash());

    public override int Read(Span<byte> buffer)
    {
        int n = _inner.Read(buffer);
        if (n > 0)
        {
            _hash.AppendData(buffer[..n]);
            _count += n;
        }
        return n;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _hash.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>
/// A read-only stream that writes every byte read through it to another stream (the content
/// store's blob writer, which hashes and checks it: hashing here too would double the work) and
/// reports the count.
/// </summary>
public sealed class TeeReadStream : ForwardOnlyReadStream
{
    private readonly Stream _inner;
    private readonly Stream _copyTo;
    private readonly Action<long>? _progress;
    private long _count;

    public TeeReadStream(Stream inner, Stream copyTo, Action<long>? progress = null)
    {
        _inner = inner;
        _copyTo = copyTo;
        _progress = progress;
    }

    public long Count => _count;

    public override int Read(Span<byte> buffer)
    {
        int n = _inner.Read(buffer);
        if (n > 0)
        {
            _copyTo.Write(buffer[..n]);
            _count += n;
            _progress?.Invoke(_count);
        }
        return n;
    }
}

/// <summary>Recognises gzip, zstd or plain tar by the first bytes (as docker does) and decompresses.</summary>
public static class Decompression
{
    public static LayerCompression Sniff(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 2 && head[0] == 0x1f && head[1] == 0x8b) return LayerCompression.Gzip;
        if (head.Length >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd) return LayerCompression.Zstd;
        return LayerCompression.None;
    }

    /// <summary>The decompressed view of <paramref name="source"/>, whichever format it is in.</summary>
    public static Stream Open(Stream source, out LayerCompression kind)
    {
        var peek = new PeekStream(source, 4);
        kind = Sniff(peek.Head);
        return kind switch
        {
            LayerCompression.Gzip => new GZipStream(peek, CompressionMode.Decompress, leaveOpen: true),
            LayerCompression.Zstd => new ZstdSharp.DecompressionStream(peek, leaveOpen: true),
            _ => peek,
        };
    }
}

/// <summary>A stream whose first bytes can be looked at before they are read.</summary>
internal sealed class PeekStream : ForwardOnlyReadStream
{
    private readonly Stream _inner;
    private readonly byte[] _head;
    private int _headLen, _headPos;

    public PeekStream(Stream inner, int n)
    {
        _inner = inner;
        _head = new byte[n];
        while (_headLen < n)
        {
            int r = inner.Read(_head, _headLen, n - _headLen);
            if (r <= 0) break;
            _headLen += r;
        }
    }

    public ReadOnlySpan<byte> Head => _head.AsSpan(0, _headLen);

    public override int Read(Span<byte> buffer)
    {
        if (_headPos < _headLen)
        {
            int n = Math.Min(buffer.Length, _headLen - _headPos);
            _head.AsSpan(_headPos, n).CopyTo(buffer);
            _headPos += n;
            return n;
        }
        return _inner.Read(buffer);
    }

}

/// <summary>Streams one layer: compressed bytes in, digest and diff id checked, tree extracted.</summary>
public static class LayerApplier
{
    /// <summary>
    /// Reads a (possibly compressed) layer from <paramref name="compressed"/>, extracts it into
    /// <paramref name="directory"/> and returns its diff id (sha256 of the uncompressed tar) and size.
    /// The caller checks the compressed digest (it owns the stream that hashes it).
    /// </summary>
    public static (Digest DiffId, long Size, IReadOnlyList<string> ImplicitDirectories) Apply(Stream compressed, string directory, WhiteoutMode mode)
    {
        using var tar = Decompression.Open(compressed, out var kind);
        using var diff = new HashingReadStream(tar);
        try
        {
            var result = new LayerExtractor(directory, mode).Extract(diff);
            diff.Drain();
            return (diff.Digest(), diff.Count, result.ImplicitDirectories);
        }
        catch (Exception e) when (e is InvalidDataException || e.GetType().Namespace == "ZstdSharp")
        {
            throw new ImageException($"layer data is corrupt ({kind}): {e.Message}", e);
        }
    }
}
