using System.Buffers.Binary;
using Berth.Linux;
using Berth.Linux.Interop;
using Berth.Linux.Io;

namespace Berth.Runtime.Init;

/// <summary>Length-prefixed JSON frames over the socket the parent and the init share.</summary>
public sealed class SyncChannel : IDisposable
{
    public int Fd { get; }
    /// <summary>True once closed: the number may already belong to another descriptor.</summary>
    public bool Closed { get; private set; }
    public SyncChannel(int fd) => Fd = fd;

    /// <summary>The init's orders (hand-written JSON: see InitRequestJson).</summary>
    public void SendRequest(InitRequest request) => SendRaw(InitRequestJson.Write(request));

    /// <summary>The parent's orders, or null when it closed the socket first.</summary>
    public InitRequest? ReceiveRequest() => ReceiveFrame() is { } body ? InitRequestJson.Read(body) : null;

    /// <summary>The next frame's bytes, or null when the other side closed the socket.</summary>
    private byte[]? ReceiveFrame()
    {
        Span<byte> len = stackalloc byte[4];
        if (!FdIo.ReadExactly(Fd, len)) return null;
        int n = BinaryPrimitives.ReadInt32LittleEndian(len);
        if (n < 0 || n > 64 << 20) throw new IOException($"bad frame length {n} on the sync socket");
        byte[] body = new byte[n];
        if (!FdIo.ReadExactly(Fd, body)) throw new EndOfStreamException("sync socket closed mid-frame");
        return body;
    }

    /// <summary>A frame of raw bytes (the config.json as validated, so the parent need not re-serialize it).</summary>
    public void SendRaw(ReadOnlySpan<byte> body)
    {
        byte[] frame = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32LittleEndian(frame, body.Length);
        body.CopyTo(frame.AsSpan(4));
        try { FdIo.WriteAll(Fd, frame); }
        catch (LinuxException e) when (e.ErrorCode == Errno.EPIPE)
        {
            // "write: Broken pipe" said nothing about whom: the process at the other end has exited.
            throw new RuntimeException("the process at the other end of the sync socket exited");
        }
    }

    public byte[] ReceiveRaw() =>
        ReceiveFrame() ?? throw new EndOfStreamException("sync socket closed before the config arrived");

    public void SendMessage(string type, string? error = null) =>
        SendRaw(InitRequestJson.Write(new InitMessage { Type = type, Error = error }));

    /// <summary>The next message, or null when the other side closed the socket.</summary>
    public InitMessage? ReceiveMessage() => ReceiveFrame() is { } body ? InitRequestJson.ReadMessage(body) : null;

    public void Dispose()
    {
        if (Closed) return;
        Closed = true;
        LibC.close(Fd);
    }
}
