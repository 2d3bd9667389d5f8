using Berth.Images.Content;
using Berth.Images.References;

namespace Berth.Images.Registry;

/// <summary>
/// A blob download that survives a dropped connection: when a read fails, it asks the registry
/// again with <c>Range: bytes=N-</c> from where it stopped (and skips ahead itself when the
/// registry ignores the range), up to a number of retries. Readers see one unbroken stream.
/// </summary>
public sealed class ResumableBlobStream : ForwardOnlyReadStream
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

    public override int Read(Span<byte> buffer)
    {
        // Synchronous on purpose: the decompressor and the extractor read from a worker thread, and a
        // blocking socket read there costs less than async state machines completed by another thread.
        if (_position >= _size && _size >= 0) return 0;
        while (true)
        {
            try
            {
                if (_body is null) Open(CancellationToken.None).GetAwaiter().GetResult();
                int n = _body!.Read(buffer);
                return Advance(n);
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                Retry(e);
                Thread.Sleep(100 * _resumes);
            }
        }
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
                return Advance(n);
            }
            catch (Exception e) when (e is IOException or HttpRequestException && !ct.IsCancellationRequested)
            {
                Retry(e);
                await Task.Delay(100 * _resumes, ct);
            }
        }
    }

    private int Advance(int n)
    {
        if (n == 0 && _position < _size)
            throw new IOException($"connection closed after {_position} of {_size} bytes");
        _position += n;
        return n;
    }

    private void Retry(Exception e)
    {
        DropConnection();
        if (++_resumes > _maxResumes)
            throw new RegistryException($"download of {_digest.Short} from {_repo.Registry} failed after {_maxResumes} resumes: {RegistryClient.OneLine(e)}", e);
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

    public override long Length => _size;
    public override long Position { get => _position; set => throw new NotSupportedException(); }
}
