using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Berth.Images.Registry;

/// <summary>A user name and secret for one registry.</summary>
public sealed record Credentials(string Username, string Password);

/// <summary>
/// Credentials in docker's <c>config.json</c> (<c>$DOCKER_CONFIG/config.json</c> or
/// <c>~/.docker/config.json</c>): <c>auths.HOST.auth</c> = base64("user:password"), so
/// <c>berth login</c> and <c>docker login</c> share them. Other keys of the file are kept.
/// </summary>
public sealed class CredentialStore
{
    public const string DockerHubKey = "https://index.docker.io/v1/";

    public string Path { get; }

    public CredentialStore(string? path = null)
    {
        Path = path ?? DefaultPath();
    }

    public static string DefaultPath()
    {
        string? dir = Environment.GetEnvironmentVariable("DOCKER_CONFIG");
        if (string.IsNullOrEmpty(dir))
            dir = System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".docker");
        return System.IO.Path.Combine(dir, "config.json");
    }

    private static string KeyFor(string registry) => registry is "docker.io" or "index.docker.io" or "registry-1.docker.io" ? DockerHubKey : registry;

    public Credentials? Get(string registry)
    {
        var auths = Load()?["auths"] as JsonObject;
        if (auths is null) return null;
        string key = KeyFor(registry);
        foreach (var (k, v) in auths)
        {
            if (!Matches(k, key) || v is not JsonObject entry) continue;
            if (entry["auth"]?.GetValue<string>() is { Length: > 0 } auth)
            {
                string decoded;
                try { decoded = Encoding.UTF8.GetString(Convert.FromBase64String(auth)); }
                catch (FormatException) { throw new ImageException($"{Path}: auths.{k}.auth is not base64"); }
                int colon = decoded.IndexOf(':');
                if (colon < 0) throw new ImageException($"{Path}: auths.{k}.auth is not \"user:password\"");
                return new Credentials(decoded[..colon], decoded[(colon + 1)..]);
            }
            if (entry["username"]?.GetValue<string>() is { } u && entry["password"]?.GetValue<string>() is { } p)
                return new Credentials(u, p);
        }
        return null;
    }

    public void Save(string registry, Credentials c)
    {
        var root = Load() ?? new JsonObject();
        if (root["auths"] is not JsonObject auths) root["auths"] = auths = new JsonObject();
        foreach (var k in auths.Select(kv => kv.Key).Where(k => Matches(k, KeyFor(registry))).ToList()) auths.Remove(k);
        auths[KeyFor(registry)] = new JsonObject { ["auth"] = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{c.Username}:{c.Password}")) };
        Write(root);
    }

    /// <summary>Removes a registry's credentials; false when there were none.</summary>
    public bool Remove(string registry)
    {
        var root = Load();
        if (root?["auths"] is not JsonObject auths) return false;
        var keys = auths.Select(kv => kv.Key).Where(k => Matches(k, KeyFor(registry))).ToList();
        foreach (var k in keys) auths.Remove(k);
        if (keys.Count > 0) Write(root);
        return keys.Count > 0;
    }

    private static bool Matches(string configKey, string key)
    {
        if (configKey == key) return true;
        // docker accepts "https://host", "http://host/v2/" as well as "host".
        string h = configKey;
        if (h.StartsWith("https://", StringComparison.Ordinal)) h = h[8..];
        else if (h.StartsWith("http://", StringComparison.Ordinal)) h = h[7..];
        int slash = h.IndexOf('/');
        if (slash >= 0) h = h[..slash];
        return h == key || (key == DockerHubKey && h == "index.docker.io");
    }

    private JsonObject? Load()
    {
        if (!File.Exists(Path)) return null;
        try
        {
            return JsonNode.Parse(File.ReadAllText(Path), documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true }) as JsonObject;
        }
        catch (JsonException e)
        {
            throw new ImageException($"{Path} is not valid JSON: {e.Message}");
        }
    }

    private void Write(JsonObject root)
    {
        string json = root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        Store.AtomicFile.WriteAllText(Path, json + "\n");
        File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
}
