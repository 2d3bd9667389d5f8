using System.Text.Json;
using Berth.Linux.Processes;

namespace Berth.Runtime.State;

/// <summary>The runtime's state directory: one folder per container under --root.</summary>
public sealed class StateStore
{
    public const string DefaultRoot = "/run/berth/runtime";
    public string Root { get; }

    public StateStore(string root) => Root = root;

    /// <summary>An id is ^[A-Za-z0-9][A-Za-z0-9_+\-.]*$ (runc's rule), at most 1024 characters.</summary>
    public static void ValidateId(string id)
    {
        if (string.IsNullOrEmpty(id)) throw new RuntimeException("container id must not be empty");
        if (id.Contains('/')) throw new RuntimeException($"invalid container id \"{id}\": it must not contain a slash");
        // By hand: a generated Regex costs ~0.05 ms of static set-up in every short-lived command.
        bool valid = id.Length <= 1024 && char.IsAsciiLetterOrDigit(id[0]);
        for (int i = 1; valid && i < id.Length; i++)
            valid = char.IsAsciiLetterOrDigit(id[i]) || id[i] is '_' or '+' or '-' or '.';
        if (!valid)
            throw new RuntimeException($"invalid container id \"{id}\": use letters, digits and _+-. only");
    }

    public string Dir(string id) => Path.Combine(Root, id);
    public string FifoPath(string id) => Path.Combine(Dir(id), "exec.fifo");
    private string StatePath(string id) => Path.Combine(Dir(id), "state.json");

    /// <summary>Claims the id atomically: mkdir fails if another container has it.</summary>
    public string Claim(string id)
    {
        ValidateId(id);
        Directory.CreateDirectory(Root);
        string dir = Dir(id);
        if (Berth.Linux.Interop.LibC.mkdir(dir, 0x1c9 /* 0711 */) < 0)
        {
            int e = Berth.Linux.Interop.Errno.Last;
            if (e == Berth.Linux.Interop.Errno.EEXIST) throw new RuntimeException($"container \"{id}\" already exists");
            throw new Berth.Linux.LinuxException(e, $"mkdir {dir}");
        }
        return dir;
    }

    public void Save(SavedState state)
    {
        string path = StatePath(state.Id);
        string tmp = path + ".tmp";
        File.WriteAllBytes(tmp, SavedStateJson.Write(state));
        File.Move(tmp, path, overwrite: true);
    }

    private string ConfigPath(string id) => Path.Combine(Dir(id), "config.json");

    /// <summary>Keeps the container's config (the validated bytes) beside its state.</summary>
    public void SaveConfig(string id, ReadOnlySpan<byte> configJson)
    {
        string path = ConfigPath(id);
        File.WriteAllBytes(path + ".tmp", configJson.ToArray());
        File.Move(path + ".tmp", path, overwrite: true);
    }

    public byte[] LoadRawConfig(string id) => File.ReadAllBytes(ConfigPath(id));

    public Berth.Oci.Runtime.Spec ParseConfig(string id, byte[] raw) => Bundle.SpecLoader.Parse(raw, ConfigPath(id));

    public SavedState Load(string id)
    {
        ValidateId(id);
        try
        {
            return SavedStateJson.Read(File.ReadAllBytes(StatePath(id)))
                ?? throw new RuntimeException($"container \"{id}\": state is empty");
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new RuntimeException($"container \"{id}\" does not exist");
        }
        catch (JsonException)
        {
            throw new RuntimeException($"container \"{id}\": state file is damaged");
        }
    }

    public bool Exists(string id) => File.Exists(StatePath(id));

    public IEnumerable<string> Ids()
    {
        if (!Directory.Exists(Root)) yield break;
        foreach (var d in Directory.EnumerateDirectories(Root))
            if (File.Exists(Path.Combine(d, "state.json"))) yield return Path.GetFileName(d);
    }

    public void Remove(string id)
    {
        string dir = Dir(id);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    /// <summary>True while the container's init is the process we started (not a reused pid).</summary>
    public static bool InitAlive(SavedState s)
    {
        if (s.Pid <= 0) return false;
        var st = ProcStat.Read(s.Pid);
        return st is { IsAlive: true } && st.Value.StartTime == s.PidStartTime;
    }
}
