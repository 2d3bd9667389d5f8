using System.Text;
using System.Text.Json;
using Berth.Linux.Interop;
using Berth.Linux.Security;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Lifecycle;

/// <summary>
/// Compiled seccomp programs kept under the runtime root, keyed by the config's seccomp section.
/// libseccomp needs about 15 ms for Docker's default profile (300-odd syscalls, argument
/// filters) and an engine sends the same profile with every container, so a create after the
/// first reads the BPF back instead (about 0.1 ms).
///
/// An entry is found by a hash of everything the program depends on (its identity): the seccomp
/// JSON as written, this build of the compiler (libseccomp is linked in statically) and the
/// kernel (libseccomp probes it for the actions and flags it supports). The entry stores the
/// identity itself and is used only when it matches byte for byte, so the hash need not resist
/// collisions (a collision is a miss) and no crypto library is loaded: SHA-256 would dlopen
/// OpenSSL into this static binary, 3 ms and a library from the filesystem. The folder is
/// 0700; a file is used only if it is a regular file owned by us and writable by nobody else,
/// and any damage to it is a miss, never an error.
/// </summary>
public static unsafe class SeccompCache
{
    // '@' is no container id character, so no container can claim this folder.
    public const string FolderName = "@seccomp";
    private const int MaxEntries = 32;
    private static ReadOnlySpan<byte> Magic => "BSC1"u8;

    /// <summary>The program for <paramref name="sc"/>, from the cache when the root has it.</summary>
    internal static SeccompProgram GetOrCompile(string root, ReadOnlySpan<byte> rawConfig, LinuxSeccomp sc, Func<LinuxSeccomp, SeccompProgram> compile)
    {
        string? path = null;
        byte[]? identity = null;
        try
        {
            if (RawSeccompSection(rawConfig) is { } section)
            {
                identity = Identity(section);
                path = Path.Combine(root, FolderName, Fnv1a64(identity).ToString("x16"));
                if (TryRead(path, identity) is { } cached) return cached;
            }
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException) { path = null; }

        var program = compile(sc);
        if (path is not null) TryWrite(path, identity!, program);
        return program;
    }

    /// <summary>The bytes of linux.seccomp in the config, exactly as written (null if absent).</summary>
    public static byte[]? RawSeccompSection(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
        return FindProperty(ref reader, json, "linux"u8, inner: "seccomp"u8);
    }

    private static byte[]? FindProperty(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, ReadOnlySpan<byte> name, ReadOnlySpan<byte> inner)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool match = reader.ValueTextEquals(name);
            if (!reader.Read()) return null;
            if (!match) { reader.Skip(); continue; }
            if (inner.IsEmpty)
            {
                long start = reader.TokenStartIndex;
                reader.Skip();
                return json[(int)start..(int)reader.BytesConsumed].ToArray();
            }
            return reader.TokenType == JsonTokenType.StartObject ? FindProperty(ref reader, json, inner, default) : null;
        }
        return null;
    }

    private static byte[] Identity(byte[] section)
    {
        using var ms = new MemoryStream();
        ms.Write(typeof(Seccomp).Assembly.ManifestModule.ModuleVersionId.ToByteArray());
        ms.Write(Encoding.UTF8.GetBytes(ReadKernelFile("osrelease") + "\n" + ReadKernelFile("version") + "\n"));
        ms.Write(section);
        return ms.ToArray();
    }

    public static ulong Fnv1a64(ReadOnlySpan<byte> data)
    {
        ulong h = 0xcbf29ce484222325;
        foreach (byte b in data) { h ^= b; h *= 0x100000001b3; }
        return h;
    }

    private static string ReadKernelFile(string name)
    {
        try { return File.ReadAllText("/proc/sys/kernel/" + name).Trim(); }
        catch (IOException) { return ""; }
    }

    private static SeccompProgram? TryRead(string path, byte[] identity)
    {
        int fd = LibC.open(path, O.RDONLY | O.NOFOLLOW | O.CLOEXEC, 0);
        if (fd < 0) return null;
        try
        {
            Stat st;
            if (LibC.fstat(fd, &st) != 0) return null;
            // A regular file of ours that nobody else can write, and of a sane size.
            if ((st.Mode & 0xF000) != 0x8000 || st.Uid != LibC.geteuid() || (st.Mode & 0x12 /* 022 */) != 0) return null;
            if (st.Size is < 16 or > 16 << 20) return null;
            var data = new byte[st.Size];
            fixed (byte* p = data)
            {
                long got = 0;
                while (got < data.Length)
                {
                    nint n = LibC.read(fd, p + got, (nuint)(data.Length - got));
                    if (n <= 0) return null;
                    got += n;
                }
            }
            return Decode(data, identity);
        }
        finally { LibC.close(fd); }
    }

    // Layout: "BSC1", identity length u32 + bytes, flags u32, usesNotify u8, bpf length u32 + bytes, then two string lists
    // (skipped syscalls, warnings), each a u16 count of u16-length-prefixed UTF-8 strings.
    public static byte[] Encode(byte[] identity, SeccompProgram p)
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write(Magic);
        w.Write(identity.Length);
        w.Write(identity);
        w.Write(p.Flags);
        w.Write(p.UsesNotify ? (byte)1 : (byte)0);
        w.Write(p.Bpf.Length);
        w.Write(p.Bpf);
        WriteList(w, p.SkippedSyscalls);
        WriteList(w, p.Warnings);
        w.Flush();
        return ms.ToArray();
    }

    public static SeccompProgram? Decode(byte[] data, byte[] identity)
    {
        try
        {
            using var r = new BinaryReader(new MemoryStream(data));
            if (!r.ReadBytes(4).AsSpan().SequenceEqual(Magic)) return null;
            if (r.ReadInt32() != identity.Length || !r.ReadBytes(identity.Length).AsSpan().SequenceEqual(identity)) return null;
            uint flags = r.ReadUInt32();
            bool notify = r.ReadByte() == 1;
            int len = r.ReadInt32();
            if (len <= 0 || len % 8 != 0 || len > data.Length) return null;
            byte[] bpf = r.ReadBytes(len);
            if (bpf.Length != len) return null;
            var skipped = ReadList(r);
            var warnings = ReadList(r);
            if (skipped is null || warnings is null || r.BaseStream.Position != data.Length) return null;
            return new SeccompProgram { Bpf = bpf, Flags = flags, UsesNotify = notify, SkippedSyscalls = skipped, Warnings = warnings };
        }
        catch (EndOfStreamException) { return null; }
    }

    private static void WriteList(BinaryWriter w, IReadOnlyList<string> items)
    {
        w.Write((ushort)items.Count);
        foreach (var s in items)
        {
            byte[] b = Encoding.UTF8.GetBytes(s);
            w.Write((ushort)b.Length);
            w.Write(b);
        }
    }

    private static List<string>? ReadList(BinaryReader r)
    {
        int n = r.ReadUInt16();
        var list = new List<string>(n);
        for (int i = 0; i < n; i++)
        {
            int len = r.ReadUInt16();
            byte[] b = r.ReadBytes(len);
            if (b.Length != len) return null;
            list.Add(Encoding.UTF8.GetString(b));
        }
        return list;
    }

    /// <summary>Best effort: a root we cannot write to just means compiling every time.</summary>
    private static void TryWrite(string path, byte[] identity, SeccompProgram program)
    {
        string dir = Path.GetDirectoryName(path)!;
        string tmp = $"{path}.{Environment.ProcessId}.tmp";
        try
        {
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            Prune(dir);
            byte[] data = Encode(identity, program);
            int fd = LibC.open(tmp, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW | O.CLOEXEC, 0x180 /* 0600 */);
            if (fd < 0) return;
            try { Berth.Linux.Io.FdIo.WriteAll(fd, data); }
            finally { LibC.close(fd); }
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Berth.Linux.LinuxException)
        {
            try { File.Delete(tmp); } catch (Exception) { }
        }
    }

    private static void Prune(string dir)
    {
        var files = new DirectoryInfo(dir).GetFiles();
        if (files.Length < MaxEntries) return;
        foreach (var f in files.OrderBy(f => f.LastWriteTimeUtc).Take(files.Length - MaxEntries + 1))
        {
            try { f.Delete(); } catch (IOException) { }
        }
    }
}
