using System.Buffers.Binary;

namespace Berth.Cli.Client;

/// <summary>
/// Moves a hijacked stream's bytes: output to our stdout/stderr (raw with a TTY, else docker's
/// 8-byte frames: stream type, three zero bytes, big-endian length), and our stdin to the
/// container, watching for the detach keys (ctrl-p ctrl-q) when it is a terminal.
/// </summary>
public static class StreamPump
{
    public static readonly byte[] DefaultDetachKeys = [0x10, 0x11];

    /// <summary>Copies the output until the daemon closes the stream.</summary>
    public static async Task CopyOutputAsync(HijackedConnection conn, bool tty, Stream stdout, Stream stderr, CancellationToken ct)
    {
        if (tty)
        {
            var buf = new byte[32 * 1024];
            int n;
            while ((n = await conn.ReadAsync(buf, ct)) > 0)
            {
                await stdout.WriteAsync(buf.AsMemory(0, n), ct);
                await stdout.FlushAsync(ct);
            }
            return;
        }
        await DemuxAsync(conn.ReadExactlyAsync, stdout, stderr, ct);
    }

    /// <summary>Demultiplexes docker's stream frames from any source (a hijacked socket or a logs response).</summary>
    public static async Task DemuxAsync(Func<Memory<byte>, CancellationToken, ValueTask<bool>> readExactly, Stream stdout, Stream stderr, CancellationToken ct)
    {
        var header = new byte[8];
        var payload = new byte[32 * 1024];
        while (await readExactly(header, ct))
        {
            int size = (int)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
            var target = header[0] is 2 or 3 ? stderr : stdout;
            while (size > 0)
            {
                int n = Math.Min(size, payload.Length);
                if (!await readExactly(payload.AsMemory(0, n), ct)) throw new IOException("the stream ended inside a frame");
                await target.WriteAsync(payload.AsMemory(0, n), ct);
                size -= n;
            }
            await target.FlushAsync(ct);
        }
    }

    /// <summary>
    /// Sends stdin to the container until it ends (then half-closes) or the detach keys are typed
    /// (then returns true without closing: the caller leaves the container running).
    /// </summary>
    public static async Task<bool> CopyInputAsync(Stream stdin, HijackedConnection conn, byte[]? detachKeys, CancellationToken ct)
    {
        var buf = new byte[4096];
        int matched = 0; // how many bytes of the detach sequence are held back
        while (true)
        {
            int n;
            try { n = await stdin.ReadAsync(buf, ct); }
            catch (IOException) { n = 0; }
            if (n == 0)
            {
                if (matched > 0) await conn.WriteAsync(detachKeys.AsMemory(0, matched), ct);
                conn.CloseWrite();
                return false;
            }
            if (detachKeys is null) { await conn.WriteAsync(buf.AsMemory(0, n), ct); continue; }
            var send = new List<byte>(n + matched);
            for (int i = 0; i < n; i++)
            {
                byte b = buf[i];
                if (b == detachKeys[matched])
                {
                    matched++;
                    if (matched == detachKeys.Length) return true;
                    continue;
                }
                if (matched > 0) { send.AddRange(detachKeys.AsSpan(0, matched).ToArray()); matched = 0; }
                if (b == detachKeys[0]) { matched = 1; continue; }
                send.Add(b);
            }
            if (send.Count > 0) await conn.WriteAsync(send.ToArray(), ct);
        }
    }

    /// <summary>Parses docker's --detach-keys ("ctrl-p,ctrl-q", "a", "ctrl-@").</summary>
    public static byte[] ParseDetachKeys(string spec)
    {
        var keys = new List<byte>();
        foreach (var part in spec.Split(','))
        {
            string p = part.Trim();
            if (p.Length == 1) { keys.Add((byte)p[0]); continue; }
            if (p.StartsWith("ctrl-", StringComparison.OrdinalIgnoreCase) && p.Length == 6)
            {
                char c = char.ToLowerInvariant(p[5]);
                if (c is >= 'a' and <= 'z') { keys.Add((byte)(c - 'a' + 1)); continue; }
                int i = "@[\\]^_".IndexOf(c);
                if (i >= 0) { keys.Add((byte)(i == 0 ? 0 : 27 + i - 1)); continue; }
            }
            throw new UsageException($"invalid detach keys (--detach-keys): {spec}");
        }
        return keys.ToArray();
    }
}
