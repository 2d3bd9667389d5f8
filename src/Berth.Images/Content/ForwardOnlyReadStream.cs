namespace Berth.Images.Content;

/// <summary>The common part of the read-once streams of a pull: readable, not seekable, not writable.</summary>
public abstract class ForwardOnlyReadStream : Stream
{
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public abstract override int Read(Span<byte> buffer);

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>Reads to the end (trailing padding after a tar's end, after a gzip member).</summary>
    public void Drain()
    {
        var buf = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
        try { while (Read(buf, 0, buf.Length) > 0) { } }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(buf); }
    }
}
