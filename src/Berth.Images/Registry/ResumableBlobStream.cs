using Berth.Images.Content;
using Berth.Images.References;

namespace Berth.Images.Registry;

/// <summary>
/// A blob download that survives a dropped connection: when a read fails, it asks the registry
/// again with <c>Range: bytes=N-</c> from where it stopped (and skips ahead itself when the
/// registry ignores the range), up to a number of retries. Readers see one unbroken stream.
/// </summary>
public sealed class ResumableBlobStream : Stream
{
    private readonly RegistryClient _client;
    private readonly ImageReference _repo;
    private readonly Digest _digest;
    private readonly long _size;
    private readonly int _maxResumes;
    private HttpResponseMessage? _resp;
    private Stream? _body;
    private long _position;
    private int _resumes;

    public ResumableBlobStream(RegistryClient client, ImageReference repo, Digest digest, long size, int maxResumes = 5)
    {
        _client = client; _repo = repo; _digest = digest; _size = size; _maxResumes = maxResumes;
    }

    public int Resumes => _resumes;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var tmp = System.Buffers.ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            int n = ReadAsync(tmp.AsMemory(0, buffer.Length)).AsTask().GetAwaiter().GetResult();
            tmp.AsSpan(0, n).CopyTo(buffer);
            return n;
        }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(tmp); }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        if (_position >= _size && _size >= 0) return 0;
        while (true)
        {
            try
            {
                if (_body is null) await Open(ct);
                int n = await _body!.ReadAsync(buffer, ct);
                if (n == 0 && _position < _size)
                    throw new IOException($"connection closed after {_position} of {_size} bytes");
                _position += n;
                return n;
            }
            catch (Exception e) when (e is IOException or HttpRequestException && !ct.IsCancellationRequested)
            {
                DropConnection();
                if (++_resumes > _maxResumes)
                    throw new RegistryException($"download of {_digest.Short} from {_repo.Registry} failed after {_maxResumes} resumes: {RegistryClient.OneLine(e)}", e);
                await Task.Delay(100 * _resumes, ct);
            }
        }
    }

    private async Task Open(CancellationToken ct)
    {
        var (resp, partial) = await _client.OpenBlobAsync(_repo, _digest, _position, ct);
        _resp = resp;
        _body = await resp.Content.ReadAsStreamAsync(ct);
        if (_position > 0 && !partial)
        {
            // The registry sent the whole blob again: skip what was already read.
            long skip = _position;
            var buf = new byte[81920];
            while (skip > 0)
            {
                int n = await _body.ReadAsync(buf.AsMemory(0, (int)Math.Min(buf.Length, skip)), ct);
                if (n == 0) throw new IOException("connection closed while skipping to the resume point");
                skip -= n;
            }
        }
    }

    private void DropConnection()
    {
        _body?.Dispose();
        _resp?.Dispose();
        _body = null;
        _resp = null;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) DropConnection();
        base.Dispose(disposing);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => _size;
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
