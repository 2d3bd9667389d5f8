using System.Runtime.InteropServices;
using System.Text.Json;
using Berth.Images.Models;

namespace Berth.Images.Content;

public enum ManifestKind { Index, Manifest }

/// <summary>Recognises and parses manifests: OCI and Docker schema 2 manifests and indexes; schema 1 refused.</summary>
public static class Manifests
{
    public static ManifestKind Classify(byte[] data, string? headerMediaType, out string mediaType)
    {
        ManifestProbe probe;
        try
        {
            probe = JsonSerializer.Deserialize(data, ImagesJsonContext.Default.ManifestProbe) ?? throw new ImageException("manifest is empty");
        }
        catch (JsonException e)
        {
            throw new ImageException($"manifest is not valid JSON: {e.Message}");
        }
        mediaType = probe.MediaType ?? headerMediaType ?? "";
        if (MediaTypes.IsSchema1(mediaType) || probe.SchemaVersion == 1)
            throw new ImageException("manifest schema 1 is not supported (deprecated by docker in 2019): push the image again with a current client");
        if (probe.SchemaVersion != 2) throw new ImageException($"unsupported manifest schemaVersion {probe.SchemaVersion}");
        if (mediaType.Length == 0 || mediaType is "application/json" or "text/plain")
        {
            // OCI allows mediaType to be absent; tell by shape.
            if (probe.Manifests is not null) { mediaType = MediaTypes.OciIndex; return ManifestKind.Index; }
            if (probe.Config is not null && probe.Layers is not null) { mediaType = MediaTypes.OciManifest; return ManifestKind.Manifest; }
        }
        if (MediaTypes.IsIndex(mediaType)) return ManifestKind.Index;
        if (MediaTypes.IsManifest(mediaType)) return ManifestKind.Manifest;
        throw new ImageException($"unsupported manifest media type \"{mediaType}\"");
    }

    public static ImageManifest ParseManifest(byte[] data)
    {
        try
        {
            var m = JsonSerializer.Deserialize(data, ImagesJsonContext.Default.ImageManifest) ?? throw new ImageException("manifest is empty");
            foreach (var l in m.Layers.Append(m.Config)) Digest.Parse(l.Digest);
            if (m.Config.MediaType is not (MediaTypes.OciConfig or MediaTypes.DockerConfig))
                throw new ImageException($"unsupported image config media type \"{m.Config.MediaType}\" (not a container image)");
            foreach (var l in m.Layers) MediaTypes.CompressionOf(l.MediaType);
            return m;
        }
        catch (JsonException e) { throw new ImageException($"manifest is malformed: {e.Message}"); }
    }

    public static ImageIndex ParseIndex(byte[] data)
    {
        try { return JsonSerializer.Deserialize(data, ImagesJsonContext.Default.ImageIndex) ?? throw new ImageException("index is empty"); }
        catch (JsonException e) { throw new ImageException($"image index is malformed: {e.Message}"); }
    }

    public static ImageConfig ParseConfig(byte[] data)
    {
        try { return JsonSerializer.Deserialize(data, ImagesJsonContext.Default.ImageConfig) ?? throw new ImageException("image config is empty"); }
        catch (JsonException e) { throw new ImageException($"image config is malformed: {e.Message}"); }
    }

    /// <summary>The host's platform as docker names it (linux/amd64 on x86_64).</summary>
    public static Platform HostPlatform() => new()
    {
        Os = "linux",
        Architecture = RuntimeInformation.OSArchitecture switch
        {
            Architecture.X64 => "amd64",
            Architecture.Arm64 => "arm64",
            Architecture.Arm => "arm",
            Architecture.X86 => "386",
            Architecture.S390x => "s390x",
            Architecture.Ppc64le => "ppc64le",
            Architecture.RiscV64 => "riscv64",
            _ => "amd64",
        },
    };

    /// <summary>Parses <c>os/arch[/variant]</c> (<c>--platform</c>).</summary>
    public static Platform ParsePlatform(string text)
    {
        var parts = text.Split('/');
        if (parts.Length is < 2 or > 3 || parts.Any(p => p.Length == 0))
            throw new ImageException($"invalid platform \"{text}\": expected os/arch[/variant]");
        return new Platform { Os = parts[0].ToLowerInvariant(), Architecture = parts[1].ToLowerInvariant(), Variant = parts.Length == 3 ? parts[2] : null };
    }

    public static Descriptor SelectPlatform(ImageIndex index, Platform want, string what)
    {
        Descriptor? best = null;
        foreach (var d in index.Manifests)
        {
            var p = d.Platform;
            if (p is null || p.Os != want.Os || p.Architecture != want.Architecture) continue;
            if (want.Variant is not null && p.Variant is not null && p.Variant != want.Variant) continue;
            if (want.Variant is not null && p.Variant is null && !(want.Architecture == "arm64" && want.Variant == "v8")) continue;
            best ??= d;
        }
        return best ?? throw new NotFoundException($"no matching manifest for {want} in the manifest list entries of {what}");
    }

    /// <summary>Chain ids (OCI image-spec): chain[0] = diff[0], chain[i] = sha256(chain[i-1] + " " + diff[i]).</summary>
    public static List<string> ChainIds(IReadOnlyList<string> diffIds)
    {
        var result = new List<string>(diffIds.Count);
        foreach (var diff in diffIds)
        {
            Digest.Parse(diff);
            result.Add(result.Count == 0 ? diff : Digest.Of(System.Text.Encoding.ASCII.GetBytes(result[^1] + " " + diff)).ToString());
        }
        return result;
    }
}
