using System.Buffers.Binary;
using System.Net;
using System.Text;
using Berth.Linux.Interop;

namespace Berth.Linux.Net;

/// <summary>
/// An rtnetlink socket (NETLINK_ROUTE) of one network namespace: the few link, address and route
/// requests a bridge network needs (what `ip link add`, `ip addr add` and `ip route add` send).
/// Every request asks for an acknowledgement, so a refusal comes back as the kernel's errno.
/// The socket belongs to the namespace it was opened in (<see cref="OpenIn"/>) for its whole life.
/// </summary>
public sealed unsafe class Netlink : IDisposable
{
    private const int AF_NETLINK = 16, SOCK_RAW = 3, NETLINK_ROUTE = 0, AF_INET = 2, AF_UNSPEC = 0;
    private const ushort RTM_NEWLINK = 16, RTM_DELLINK = 17, RTM_NEWADDR = 20, RTM_NEWROUTE = 24, NLMSG_ERROR = 2;
    private const ushort NLM_F_REQUEST = 1, NLM_F_ACK = 4, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400;
    private const ushort IFLA_ADDRESS = 1, IFLA_IFNAME = 3, IFLA_MASTER = 10, IFLA_LINKINFO = 18, IFLA_NET_NS_FD = 28;
    private const ushort IFLA_INFO_KIND = 1, IFLA_INFO_DATA = 2, VETH_INFO_PEER = 1;
    private const ushort IFA_ADDRESS = 1, IFA_LOCAL = 2, IFA_BROADCAST = 4;
    private const ushort RTA_GATEWAY = 5, RTA_OIF = 4;
    public const uint IFF_UP = 1;

    private readonly int _fd;
    private uint _seq;

    private Netlink(int fd) => _fd = fd;

    /// <summary>A socket in the calling thread's network namespace.</summary>
    public static Netlink Open() =>
        new(Errno.Check(LibC.socket(AF_NETLINK, SOCK_RAW | O.CLOEXEC, NETLINK_ROUTE), "netlink socket"));

    /// <summary>
    /// A socket in the network namespace <paramref name="netnsPath"/> (a /proc/PID/ns/net or a bind
    /// mount of one): opened on a thread of its own that joins the namespace for the one socket call
    /// (setns of a network namespace is per thread), so no other thread's namespace changes.
    /// </summary>
    public static Netlink OpenIn(string netnsPath) => NetNamespace.OnOwnThread(() => NetNamespace.RunIn(netnsPath, Open));

    public void Dispose() => LibC.close(_fd);

    /// <summary>The index of the interface <paramref name="name"/> in this socket's namespace, or 0.</summary>
    public int IndexOf(string name)
    {
        // SIOCGIFINDEX through an ordinary socket of the same namespace would need that namespace;
        // the RTM_GETLINK by name answers on this socket.
        var m = new Message(18 /* RTM_GETLINK */, NLM_F_REQUEST);
        m.IfInfo(AF_UNSPEC, 0, 0, 0);
        m.Attr(IFLA_IFNAME, Name(name));
        int index = 0;
        int err = Send(m, reply =>
        {
            // struct ifinfomsg follows the header: family(1) pad(1) type(2) index(4)
            if (reply.Length >= 24) index = BinaryPrimitives.ReadInt32LittleEndian(reply.Slice(16 + 4));
        });
        if (err is Errno.ENODEV) return 0;
        if (err != 0) throw new LinuxException(err, $"find link {name}");
        return index;
    }

    /// <summary>ip link add NAME type bridge.</summary>
    public void AddBridge(string name)
    {
        var m = new Message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        m.IfInfo(AF_UNSPEC, 0, 0, 0);
        m.Attr(IFLA_IFNAME, Name(name));
        int info = m.Begin(IFLA_LINKINFO);
        m.Attr(IFLA_INFO_KIND, "bridge"u8);
        m.End(info);
        Check(Send(m), $"create bridge {name}");
    }

    /// <summary>
    /// ip link add HOST type veth peer name PEER netns FD address MAC: the peer is made directly in
    /// the other namespace, so its name (eth0) never meets the host's interfaces.
    /// </summary>
    public void AddVethPair(string hostName, string peerName, int peerNetnsFd, byte[]? peerMac)
    {
        var m = new Message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        m.IfInfo(AF_UNSPEC, 0, 0, 0);
        m.Attr(IFLA_IFNAME, Name(hostName));
        int info = m.Begin(IFLA_LINKINFO);
        m.Attr(IFLA_INFO_KIND, "veth"u8);
        int data = m.Begin(IFLA_INFO_DATA);
        int peer = m.Begin(VETH_INFO_PEER);
        m.IfInfo(AF_UNSPEC, 0, 0, 0);
        m.Attr(IFLA_IFNAME, Name(peerName));
        m.AttrU32(IFLA_NET_NS_FD, (uint)peerNetnsFd);
        if (peerMac is not null) m.Attr(IFLA_ADDRESS, peerMac);
        m.End(peer);
        m.End(data);
        m.End(info);
        Check(Send(m), $"create veth pair {hostName}/{peerName}");
    }

    /// <summary>ip link set INDEX master BRIDGE up.</summary>
    public void SetMasterAndUp(int index, int masterIndex)
    {
        var m = new Message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
        m.IfInfo(AF_UNSPEC, index, IFF_UP, IFF_UP);
        if (masterIndex > 0) m.AttrU32(IFLA_MASTER, (uint)masterIndex);
        Check(Send(m), $"set link {index} up");
    }

    /// <summary>ip link set INDEX up.</summary>
    public void SetUp(int index) => SetMasterAndUp(index, 0);

    /// <summary>ip link del NAME; false when there was no such link.</summary>
    public bool DeleteLink(string name)
    {
        var m = new Message(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK);
        m.IfInfo(AF_UNSPEC, 0, 0, 0);
        m.Attr(IFLA_IFNAME, Name(name));
        int err = Send(m);
        if (err is Errno.ENODEV) return false;
        Check(err, $"delete link {name}");
        return true;
    }

    /// <summary>ip addr add ADDRESS/PREFIX broadcast + dev INDEX.</summary>
    public void AddAddress(int index, IPAddress address, int prefix)
    {
        byte[] a = address.GetAddressBytes();
        if (a.Length != 4) throw new ArgumentException("IPv4 only", nameof(address));
        uint host = prefix >= 32 ? 0 : uint.MaxValue >> prefix;
        byte[] bcast = BitConverter.GetBytes(BinaryPrimitives.ReadUInt32BigEndian(a) | host);
        if (BitConverter.IsLittleEndian) Array.Reverse(bcast);
        var m = new Message(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        m.Raw([AF_INET, (byte)prefix, 0, 0]);
        m.RawI32(index);
        m.Attr(IFA_LOCAL, a);
        m.Attr(IFA_ADDRESS, a);
        m.Attr(IFA_BROADCAST, bcast);
        int err = Send(m);
        if (err == Errno.EEXIST) return; // already there (a bridge found again after a restart)
        Check(err, $"add address {address}/{prefix}");
    }

    /// <summary>ip route add default via GATEWAY dev INDEX.</summary>
    public void AddDefaultRoute(IPAddress gateway, int index)
    {
        var m = new Message(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        // struct rtmsg: family, dst_len, src_len, tos, table (main), protocol (boot), scope (universe), type (unicast); flags
        m.Raw([AF_INET, 0, 0, 0, 254, 3, 0, 1]);
        m.RawI32(0);
        m.Attr(RTA_GATEWAY, gateway.GetAddressBytes());
        m.AttrU32(RTA_OIF, (uint)index);
        Check(Send(m), $"add default route via {gateway}");
    }

    private static void Check(int err, string what)
    {
        if (err != 0) throw new LinuxException(err, what);
    }

    private static byte[] Name(string name)
    {
        if (name.Length is 0 or > 15) throw new ArgumentException($"interface name \"{name}\" must have 1 to 15 characters");
        return Encoding.ASCII.GetBytes(name + "\0");
    }

    /// <summary>Sends one request and reads until its acknowledgement: 0, or the kernel's errno.</summary>
    private int Send(Message m, SpanAction? onReply = null)
    {
        uint seq = ++_seq;
        byte[] req = m.Finish(seq);
        fixed (byte* p = req)
        {
            if (LibC.write(_fd, p, (nuint)req.Length) != req.Length) throw new LinuxException(Errno.Last, "netlink send");
        }
        byte[] buf = new byte[32 * 1024];
        while (true)
        {
            nint n;
            fixed (byte* p = buf) n = LibC.read(_fd, p, (nuint)buf.Length);
            if (n < 0)
            {
                if (Errno.Last == Errno.EINTR) continue;
                throw new LinuxException(Errno.Last, "netlink receive");
            }
            var span = buf.AsSpan(0, (int)n);
            while (span.Length >= 16)
            {
                int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(span);
                ushort type = BinaryPrimitives.ReadUInt16LittleEndian(span[4..]);
                uint got = BinaryPrimitives.ReadUInt32LittleEndian(span[8..]);
                if (len < 16 || len > span.Length) break;
                if (got == seq)
                {
                    if (type == NLMSG_ERROR) return -BinaryPrimitives.ReadInt32LittleEndian(span[16..]);
                    onReply?.Invoke(span[..len]);
                    if ((m.Flags & NLM_F_ACK) == 0) return 0; // a GET answers with the object, no acknowledgement
                }
                span = span[((len + 3) & ~3)..];
            }
        }
    }

    private delegate void SpanAction(ReadOnlySpan<byte> message);

    /// <summary>One netlink message being put together: header, family struct, attributes (nested ones too).</summary>
    private sealed class Message(ushort type, ushort flags)
    {
        private readonly List<byte> _b = new(new byte[16]);
        public ushort Flags => flags;

        public void Raw(ReadOnlySpan<byte> bytes) { foreach (var x in bytes) _b.Add(x); }
        public void RawI32(int v) { Span<byte> s = stackalloc byte[4]; BinaryPrimitives.WriteInt32LittleEndian(s, v); Raw(s); }

        public void IfInfo(byte family, int index, uint flagsValue, uint change)
        {
            Raw([family, 0, 0, 0]);
            RawI32(index);
            RawI32((int)flagsValue);
            RawI32((int)change);
        }

        public void Attr(ushort attrType, ReadOnlySpan<byte> value)
        {
            Span<byte> h = stackalloc byte[4];
            BinaryPrimitives.WriteUInt16LittleEndian(h, (ushort)(4 + value.Length));
            BinaryPrimitives.WriteUInt16LittleEndian(h[2..], attrType);
            Raw(h);
            Raw(value);
            Pad();
        }

        public void AttrU32(ushort attrType, uint v)
        {
            Span<byte> s = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(s, v);
            Attr(attrType, s);
        }

        /// <summary>Opens a nested attribute; <see cref="End"/> writes its length.</summary>
        public int Begin(ushort attrType)
        {
            int at = _b.Count;
            Raw([0, 0, (byte)attrType, (byte)(attrType >> 8)]);
            return at;
        }

        public void End(int at)
        {
            int len = _b.Count - at;
            _b[at] = (byte)len;
            _b[at + 1] = (byte)(len >> 8);
        }

        private void Pad() { while (_b.Count % 4 != 0) _b.Add(0); }

        public byte[] Finish(uint seq)
        {
            byte[] r = _b.ToArray();
            BinaryPrimitives.WriteUInt32LittleEndian(r, (uint)r.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(r.AsSpan(4), type);
            BinaryPrimitives.WriteUInt16LittleEndian(r.AsSpan(6), flags);
            BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(8), seq);
            return r;
        }
    }
}
