using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Berth.Engine.Networks;

/// <summary>
/// docker's embedded DNS server for a container on user networks: UDP 127.0.0.11:53 inside the
/// container's own network namespace (the socket is made there, and served by berthd). A and
/// AAAA questions for the names of its peers (container name, aliases, short id) are answered
/// from <c>lookup</c>. Any other question is passed to the host's resolvers from berthd's own
/// namespace, which can reach them (127.0.0.53 too). An upstream that does not answer within two
/// seconds gets the client a SERVFAIL.
/// </summary>
public sealed class EmbeddedDns : IDisposable
{
    public static readonly IPAddress Address = IPAddress.Parse("127.0.0.11");
    private readonly Socket _socket;
    private readonly Func<string, IReadOnlyList<IPAddress>> _lookup;
    private readonly IReadOnlyList<IPEndPoint> _upstreams;
    private readonly CancellationTokenSource _stop = new();

    private EmbeddedDns(Socket socket, Func<string, IReadOnlyList<IPAddress>> lookup, IReadOnlyList<IPEndPoint> upstreams)
    {
        _socket = socket;
        _lookup = lookup;
        _upstreams = upstreams;
    }

    /// <summary>Binds 127.0.0.11:53 in the namespace at <paramref name="netns"/> and starts answering.</summary>
    public static EmbeddedDns Start(string netns, Func<string, IReadOnlyList<IPAddress>> lookup)
    {
        int fd = Berth.Linux.Net.NetNamespace.Socket(netns, 2 /* AF_INET */, 2 /* SOCK_DGRAM */, 0);
        var s = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
        try { s.Bind(new IPEndPoint(Address, 53)); }
        catch
        {
            s.Dispose();
            throw;
        }
        var dns = new EmbeddedDns(s, lookup, HostResolvers());
        _ = dns.Serve();
        return dns;
    }

    /// <summary>The nameservers of the host's /etc/resolv.conf (IPv4), port 53.</summary>
    private static List<IPEndPoint> HostResolvers()
    {
        var list = new List<IPEndPoint>();
        if (!File.Exists("/etc/resolv.conf")) return list;
        foreach (var line in File.ReadAllLines("/etc/resolv.conf"))
        {
            var f = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (f is ["nameserver", var ip, ..] && IPAddress.TryParse(ip, out var a) && a.AddressFamily == AddressFamily.InterNetwork)
                list.Add(new IPEndPoint(a, 53));
        }
        return list;
    }

    private async Task Serve()
    {
        var buf = new byte[1500];
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r;
            try { r = await _socket.ReceiveFromAsync(buf, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token); }
            catch (Exception) { return; } // closed
            var query = buf.AsSpan(0, r.ReceivedBytes).ToArray();
            _ = Answer(query, r.RemoteEndPoint);
        }
    }

    private async Task Answer(byte[] query, EndPoint client)
    {
        try
        {
            byte[]? reply = Local(query) ?? await Forward(query) ?? Failure(query, rcode: 2);
            if (reply is not null) await _socket.SendToAsync(reply, SocketFlags.None, client, _stop.Token);
        }
        catch (Exception) { } // a malformed query or the server stopping: no answer
    }

    /// <summary>An answer from the peers' names, or null when the question is not about one of them.</summary>
    private byte[]? Local(byte[] q)
    {
        if (!TryQuestion(q, out string name, out ushort type, out int questionEnd)) return q.Length >= 12 ? Failure(q, rcode: 1) : null;
        var ips = _lookup(name.TrimEnd('.'));
        if (ips.Count == 0) return null;
        var v4 = type is 1 or 255 ? ips.Where(i => i.AddressFamily == AddressFamily.InterNetwork).ToList() : [];
        var reply = new List<byte>(q.AsSpan(0, questionEnd).ToArray());
        reply[2] = (byte)(0x80 | (q[2] & 0x01)); // QR, the client's RD; opcode 0, not authoritative
        reply[3] = 0x80;                          // RA, rcode 0 (an AAAA question gets no records, not an error)
        Span<byte> counts = stackalloc byte[8];
        counts.Clear();
        BinaryPrimitives.WriteUInt16BigEndian(counts, 1);
        BinaryPrimitives.WriteUInt16BigEndian(counts[2..], (ushort)v4.Count);
        for (int i = 0; i < 8; i++) reply[4 + i] = counts[i];
        foreach (var ip in v4)
        {
            reply.AddRange([0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4]); // name at offset 12, A, IN, TTL 30 s, 4 bytes
            reply.AddRange(ip.GetAddressBytes());
        }
        return reply.ToArray();
    }

    private async Task<byte[]?> Forward(byte[] q)
    {
        foreach (var upstream in _upstreams)
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            try
            {
                await s.SendToAsync(q, SocketFlags.None, upstream, timeout.Token);
                var buf = new byte[4096];
                var r = await s.ReceiveFromAsync(buf, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
                if (r.ReceivedBytes >= 12 && buf[0] == q[0] && buf[1] == q[1]) return buf.AsSpan(0, r.ReceivedBytes).ToArray();
            }
            catch (Exception) { } // unreachable or slow: the next one
        }
        return null;
    }

    /// <summary>The question echoed with an error code (1 FORMERR, 2 SERVFAIL).</summary>
    private static byte[]? Failure(byte[] q, int rcode)
    {
        if (q.Length < 12) return null;
        int end = TryQuestion(q, out _, out _, out int e) ? e : 12;
        var r = q.AsSpan(0, end).ToArray();
        r[2] = (byte)(0x80 | (q[2] & 0x01));
        r[3] = (byte)(0x80 | rcode);
        if (end == 12) { r[4] = 0; r[5] = 0; }
        for (int i = 6; i < 12; i++) r[i] = 0;
        return r;
    }

    /// <summary>The first question of a standard query: its name (dotted), type, and where it ends.</summary>
    public static bool TryQuestion(byte[] q, out string name, out ushort type, out int end)
    {
        name = ""; type = 0; end = 0;
        if (q.Length < 12 || (q[2] & 0x78) != 0 || BinaryPrimitives.ReadUInt16BigEndian(q.AsSpan(4)) < 1) return false;
        var sb = new StringBuilder();
        int i = 12;
        while (true)
        {
            if (i >= q.Length) return false;
            int len = q[i++];
            if (len == 0) break;
            if (len > 63 || i + len > q.Length) return false; // no compression in a question
            if (sb.Length > 0) sb.Append('.');
            sb.Append(Encoding.ASCII.GetString(q, i, len));
            i += len;
        }
        if (i + 4 > q.Length) return false;
        type = BinaryPrimitives.ReadUInt16BigEndian(q.AsSpan(i));
        end = i + 4;
        name = sb.ToString();
        return true;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
    }
}
