namespace Berth.Linux.Cgroups.V2;

/// <summary>
/// Compiles device rules into a BPF_PROG_TYPE_CGROUP_DEVICE program. The kernel calls it with
/// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; } where access_type is
/// (access &lt;&lt; 16) | type; it returns 1 to allow and 0 to deny.
///
/// The rules are tested from the last to the first and the first match decides, which is the spec's
/// "later rules override earlier ones"; nothing matching is a deny (the v1 behaviour after "deny a").
/// An allow rule matches when it covers every requested access bit; a deny rule when it names any of them.
/// </summary>
public static class DeviceFilterProgram
{
    // bpf_cgroup_dev_ctx values (include/uapi/linux/bpf.h)
    private const int DevBlock = 1, DevChar = 2;
    private const int AccMknod = 1, AccRead = 2, AccWrite = 4;

    // Registers: r1 ctx; r2 type; r3 access; r4 major; r5 minor; r6 scratch; r0 result.
    public static byte[] Compile(IReadOnlyList<DeviceRule> rules)
    {
        var p = new List<Insn>
        {
            Insn.LoadW(2, 1, 0),        // w2 = ctx->access_type
            Insn.Mov32(3, 2),           // w3 = w2
            Insn.Rsh32Imm(3, 16),       // w3 = access bits
            Insn.And32Imm(2, 0xffff),   // w2 = device type
            Insn.LoadW(4, 1, 4),        // w4 = ctx->major
            Insn.LoadW(5, 1, 8),        // w5 = ctx->minor
        };
        bool catchAll = false;
        for (int i = rules.Count - 1; i >= 0 && !catchAll; i--)
        {
            var r = rules[i];
            var block = new List<Insn>();
            var skips = new List<int>(); // indexes of jumps to the next rule
            if (r.Type != 'a')
            {
                skips.Add(block.Count);
                block.Add(Insn.JneImm(2, r.Type == 'b' ? DevBlock : DevChar, 0));
            }
            int mask = (r.Read ? AccRead : 0) | (r.Write ? AccWrite : 0) | (r.Mknod ? AccMknod : 0);
            if (r.Allow && mask != (AccRead | AccWrite | AccMknod))
            {
                // an access outside the rule's set: this rule does not cover the request
                block.Add(Insn.Mov32(6, 3));
                block.Add(Insn.And32Imm(6, ~mask & 7));
                skips.Add(block.Count);
                block.Add(Insn.JneImm(6, 0, 0));
            }
            else if (!r.Allow && mask != (AccRead | AccWrite | AccMknod))
            {
                // none of the denied accesses requested: this rule says nothing about the request
                block.Add(Insn.Mov32(6, 3));
                block.Add(Insn.And32Imm(6, mask));
                skips.Add(block.Count);
                block.Add(Insn.JeqImm(6, 0, 0));
            }
            if (r.Type != 'a' && r.Major is { } major)
            {
                skips.Add(block.Count);
                block.Add(Insn.JneImm(4, checked((int)major), 0));
            }
            if (r.Type != 'a' && r.Minor is { } minor)
            {
                skips.Add(block.Count);
                block.Add(Insn.JneImm(5, checked((int)minor), 0));
            }
            block.Add(Insn.Mov64Imm(0, r.Allow ? 1 : 0));
            block.Add(Insn.Exit());
            // a jump's offset counts from the instruction after it; "next rule" is the end of this block
            foreach (var at in skips) block[at] = block[at] with { Off = (short)(block.Count - at - 1) };
            p.AddRange(block);
            // A rule that matches everything ends the program: the verifier refuses unreachable code after it.
            catchAll = skips.Count == 0;
        }
        if (!catchAll)
        {
            p.Add(Insn.Mov64Imm(0, 0));
            p.Add(Insn.Exit());
        }

        var bytes = new byte[p.Count * 8];
        for (int i = 0; i < p.Count; i++) p[i].Encode(bytes.AsSpan(i * 8, 8));
        return bytes;
    }

    /// <summary>One eBPF instruction: opcode, dst/src registers, 16-bit offset, 32-bit immediate.</summary>
    internal readonly record struct Insn(byte Code, byte Dst, byte Src, short Off, int Imm)
    {
        public static Insn LoadW(byte dst, byte src, short off) => new(0x61, dst, src, off, 0);  // LDX MEM W
        public static Insn Mov32(byte dst, byte src) => new(0xbc, dst, src, 0, 0);             // ALU MOV X
        public static Insn And32Imm(byte dst, int imm) => new(0x54, dst, 0, 0, imm);           // ALU AND K
        public static Insn Rsh32Imm(byte dst, int imm) => new(0x74, dst, 0, 0, imm);           // ALU RSH K
        public static Insn Mov64Imm(byte dst, int imm) => new(0xb7, dst, 0, 0, imm);           // ALU64 MOV K
        public static Insn JneImm(byte dst, int imm, short off) => new(0x55, dst, 0, off, imm); // JMP JNE K
        public static Insn JeqImm(byte dst, int imm, short off) => new(0x15, dst, 0, off, imm); // JMP JEQ K
        public static Insn Exit() => new(0x95, 0, 0, 0, 0);

        public void Encode(Span<byte> to)
        {
            to[0] = Code;
            to[1] = (byte)((Src << 4) | (Dst & 0xf));
            BitConverter.TryWriteBytes(to[2..], Off);
            BitConverter.TryWriteBytes(to[4..], Imm);
        }
    }
}
