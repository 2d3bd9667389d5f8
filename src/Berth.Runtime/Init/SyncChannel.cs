using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
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

    public void Send<T>(T value, JsonTypeInfo<T> type)
    {
        byte[] body = JsonSerializer.SerializeToUtf8Bytes(value, type);
        byte[] frame = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32LittleEndian(frame, body.Length);
        body.CopyTo(frame, 4);
        FdIo.WriteAll(Fd, frame);
    }

    /// <summary>The next frame, or default when the other side closed the socket.</summary>
    public T? Receive<T>(JsonTypeInfo<T> type)
    {
        Span<byte> len = stackalloc byte[4];
        if (!FdIo.ReadExactly(Fd, len)) return default;
        int n = BinaryPrimitives.ReadInt32LittleEndian(len);
        if (n < 0 || n > 64 << 20) throw new IOException($"bad frame length {n} on the sync socket");
        byte[] body = new byte[n];
        if (!FdIo.ReadExactly(Fd, body)) throw new EndOfStreamException("sync socket closed mid-frame");
        return JsonSerializer.Deserialize(body, type);
    }

    /// <summary>A frame of raw bytes (the config.json as validated, so the parent need not re-serialize it).</summary>
    public void SendRaw(ReadOnlySpan<byte> body)
    {
        byte[] frame = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32LittleEndian(frame, body.Length);
        body.CopyTo(frame.AsSpan(4));
        FdIo.WriteAll(Fd, frame);
    }

    public byte[] ReceiveRaw()
    {
        Span<byte> len = stackalloc byte[4];
        if (!FdIo.ReadExactly(Fd, len)) throw new EndOfStreamException("sync socket closed before the config arrived");
        int n = BinaryPrimitives.ReadInt32LittleEndian(len);
        if (n < 0 || n > 64 << 20) throw new IOException($"bad frame length {n} on the sync socket");
        byte[] body = new byte[n];
        if (!FdIo.ReadExactly(Fd, body)) throw new EndOfStreamException("sync socket closed mid-frame");
        return body;
    }

    public void SendMessage(string type, string? error = null) =>
        Send(new InitMessage { Type = type, Error = error }, RuntimeJsonContext.Default.InitMessage);

    public InitMessage? ReceiveMessage() => Receive(RuntimeJsonContext.Default.InitMessage);

    public void Dispose()
    {
        if (Closed) return;
        Closed = true;
        LibC.close(Fd);
    }
}
