namespace Berth.Engine.Store;

/// <summary>Reads <c>first</c> to its end, then <c>second</c>: bytes already taken off a request body to look at, put back in front of it.</summary>
internal sealed class ConcatenatedStream(Stream first, Stream second) : Berth.Images.Content.ForwardOnlyReadStream
{
    private bool _firstDone;

    public override int Read(Span<byte> buffer)
    {
        if (!_firstDone)
        {
            int n = first.Read(buffer);
            if (n > 0) return n;
            _firstDone = true;
        }
        return second.Read(buffer);
    }
}
