using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Berth.Engine.Store;

namespace Berth.Engine.Volumes;

/// <summary>A local volume: DATA_ROOT/volumes/NAME/_data, with what was said at its creation in meta.json.</summary>
public sealed record VolumeInfo(string Name, string Mountpoint, DateTimeOffset CreatedAt, IReadOnlyDictionary<string, string> Labels)
{
    /// <summary>docker's mark for a volume the engine made for a container (--mount type=volume without a source).</summary>
    public const string AnonymousLabel = "com.docker.volume.anonymous";
    public bool Anonymous => Labels.ContainsKey(AnonymousLabel);
}

/// <summary>
/// The "local" volume driver: a directory per volume. A volume that `run -v NAME:/path` made on the fly
/// has no meta.json; it counts as created when its directory was.
/// </summary>
public sealed partial class VolumeStore(string dataRoot)
{
    private readonly string _root = Path.Combine(dataRoot, "volumes");
    private readonly object _lock = new();

    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")]
    private static partial Regex ValidName();

    public static bool IsValidName(string name) => ValidName().IsMatch(name);

    private bool _swept;

    public IReadOnlyList<VolumeInfo> List()
    {
        if (!Directory.Exists(_root)) return [];
        SweepInterruptedRemovals();
        return Directory.EnumerateDirectories(_root)
            .Select(d => Get(Path.GetFileName(d)))
            .OfType<VolumeInfo>()
            .OrderBy(v => v.Name, StringComparer.Ordinal)
            .ToList();
    }

    public VolumeInfo? Get(string name)
    {
        if (!IsValidName(name)) return null;
        string dir = Path.Combine(_root, name), data = Path.Combine(dir, "_data");
        if (!Directory.Exists(data)) return null;
        var created = new DateTimeOffset(Directory.GetCreationTimeUtc(dir), TimeSpan.Zero);
        var labels = new Dictionary<string, string>();
        string meta = Path.Combine(dir, "meta.json");
        if (File.Exists(meta))
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(meta));
                if (doc.RootElement.TryGetProperty("CreatedAt", out var c) && c.TryGetDateTimeOffset(out var t)) created = t;
                if (doc.RootElement.TryGetProperty("Labels", out var l) && l.ValueKind == JsonValueKind.Object)
                    foreach (var p in l.EnumerateObject()) labels[p.Name] = p.Value.GetString() ?? "";
            }
            catch (JsonException) { } // a damaged meta.json loses its labels, not the volume
        }
        return new VolumeInfo(name, data, created, labels);
    }

    /// <summary>docker's create: an existing volume of that name is returned as it is; no name makes one.</summary>
    public VolumeInfo Create(string? name, IReadOnlyDictionary<string, string>? labels, string? driver, IReadOnlyDictionary<string, string>? driverOpts)
    {
        if (driver is { Length: > 0 } && driver != "local") throw EngineException.NotFound($"error looking up volume plugin {driver}: plugin \"{driver}\" not found");
        if (driverOpts is { Count: > 0 }) throw EngineException.BadRequest($"create {name}: driver options ({string.Join(", ", driverOpts.Keys)}) are not supported by berth's local driver");
        name = string.IsNullOrEmpty(name) ? Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)) : name;
        if (!IsValidName(name))
            throw EngineException.BadRequest($"create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path");
        lock (_lock)
        {
            if (Get(name) is { } existing) return existing;
            string dir = Path.Combine(_root, name);
            Directory.CreateDirectory(Path.Combine(dir, "_data"));
            var created = DateTimeOffset.UtcNow;
            AtomicFile.Write(Path.Combine(dir, "meta.json"), Encoding.UTF8.GetBytes(Images.ImageJson.Write(w =>
            {
                w.WriteStartObject();
                w.WriteString("CreatedAt", created.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture));
                w.WriteStartObject("Labels");
                foreach (var (k, v) in labels ?? new Dictionary<string, string>()) w.WriteString(k, v);
                w.WriteEndObject();
                w.WriteEndObject();
            })));
            return Get(name)!;
        }
    }

    /// <summary>Removes the volume and everything in it; false if there was none of that name.</summary>
    public bool Remove(string name)
    {
        lock (_lock)
        {
            if (Get(name) is null) return false;
            string dir = Path.Combine(_root, name);
            // Renamed away first: a half-deleted volume is never seen under its name.
            string gone = Path.Combine(_root, $".removing-{name}-{Guid.NewGuid():N}");
            Directory.Move(dir, gone);
            Directory.Delete(gone, recursive: true);
            return true;
        }
    }

    /// <summary>A daemon killed in the middle of a removal leaves a `.removing-*` folder; the first listing finishes it.</summary>
    private void SweepInterruptedRemovals()
    {
        if (_swept) return;
        _swept = true;
        foreach (var d in Directory.EnumerateDirectories(_root, ".removing-*"))
        {
            try { Directory.Delete(d, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Bytes of the regular files in a volume (each file once).</summary>
    public static long SizeOf(VolumeInfo v)
    {
        long total = 0;
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true };
        try
        {
            foreach (var f in new DirectoryInfo(v.Mountpoint).EnumerateFiles("*", options))
                if (f.LinkTarget is null) total += f.Length;
        }
        catch (IOException) { }
        return total;
    }

    /// <summary>docker's Volume object (GET /volumes/NAME, POST /volumes/create, the list).</summary>
    public static void WriteJson(Utf8JsonWriter w, VolumeInfo v, long? size = null, int? refCount = null)
    {
        w.WriteStartObject();
        w.WriteString("CreatedAt", v.CreatedAt.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
        w.WriteString("Driver", "local");
        w.WriteStartObject("Labels");
        foreach (var (k, val) in v.Labels.OrderBy(p => p.Key, StringComparer.Ordinal)) w.WriteString(k, val);
        w.WriteEndObject();
        w.WriteString("Mountpoint", v.Mountpoint);
        w.WriteString("Name", v.Name);
        w.WriteNull("Options");
        w.WriteString("Scope", "local");
        if (size is not null || refCount is not null)
        {
            w.WriteStartObject("UsageData");
            w.WriteNumber("Size", size ?? -1);
            w.WriteNumber("RefCount", refCount ?? -1);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    /// <summary>Marks a volume the engine makes for a container (an anonymous one), so that prune and rm -v know it.</summary>
    public VolumeInfo EnsureAnonymous(string name) =>
        Create(name, new Dictionary<string, string> { [VolumeInfo.AnonymousLabel] = "" }, null, null);
}
