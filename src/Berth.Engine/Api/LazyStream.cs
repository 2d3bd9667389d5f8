namespace Berth.Engine.Api;

/// <summary>A stream that is known only after the upgrade (which must come after the attach is registered).</summary>
internal sealed class LazyStream(Func<Stream> get) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => get().Flush();
    public override Task FlushAsync(CancellationToken ct) => get().FlushAsync(ct);
    public override int Read(byte[] buffer, int offset, int count) => get().Read(buffer, offset, count);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => get().ReadAsync(buffer, ct);
    public override void Write(byte[] buffer, int offset, int count) => get().Write(buffer, offset, count);
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default) => get().WriteAsync(buffer, ct);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
