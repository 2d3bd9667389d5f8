using System.Text.RegularExpressions;
using Berth.Images.Content;

namespace Berth.Images.References;

/// <summary>
/// An image reference normalised the way docker does it: <c>busybox</c> is
/// <c>docker.io/library/busybox:latest</c>; a first component with a dot, a colon or
/// <c>localhost</c> is a registry host (with an optional port); a tag, a digest, or both.
/// </summary>
public sealed partial class ImageReference
{
    public const string DockerHub = "docker.io";
    public const string DefaultTag = "latest";

    /// <summary>Registry host with its port, e.g. <c>docker.io</c>, <c>127.0.0.1:5000</c>.</summary>
    public string Registry { get; }
    /// <summary>Repository path inside the registry, e.g. <c>library/busybox</c>.</summary>
    public string Repository { get; }
    public string? Tag { get; }
    public Digest? Digest { get; }

    private ImageReference(string registry, string repository, string? tag, Digest? digest)
    {
        Registry = registry; Repository = repository; Tag = tag; Digest = digest;
    }

    /// <summary><c>registry/repository</c>, fully qualified.</summary>
    public string Name => $"{Registry}/{Repository}";

    /// <summary>The name as docker shows it: no <c>docker.io/</c>, no <c>library/</c>.</summary>
    public string FamiliarName
    {
        get
        {
            if (Registry != DockerHub) return Name;
            return Repository.StartsWith("library/", StringComparison.Ordinal) && Repository.IndexOf('/', 8) < 0
                ? Repository[8..] : Repository;
        }
    }

    /// <summary>The fully qualified reference, e.g. <c>docker.io/library/busybox:latest</c>.</summary>
    public override string ToString() =>
        Name + (Tag is null ? "" : ":" + Tag) + (Digest is { } d ? "@" + d : "");

    public string Familiar => FamiliarName + (Tag is null ? "" : ":" + Tag) + (Digest is { } d ? "@" + d : "");

    /// <summary>What a registry's manifest endpoint is asked for: the digest when there is one, else the tag.</summary>
    public string ManifestReference => Digest?.ToString() ?? Tag ?? DefaultTag;

    public ImageReference WithTag(string tag) => new(Registry, Repository, ValidateTag(tag), null);
    public ImageReference WithDigest(Digest d) => new(Registry, Repository, null, d);
    public ImageReference WithoutDigest() => new(Registry, Repository, Tag ?? DefaultTag, null);

    // docker/distribution reference grammar.
    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$")]
    private static partial Regex PathComponent();
    [GeneratedRegex(@"^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$")]
    private static partial Regex Domain();
    [GeneratedRegex(@"^[\w][\w.-]{0,127}$")]
    private static partial Regex TagPattern();

    public static ImageReference Parse(string text)
    {
        if (!TryParse(text, out var r, out var err)) throw new ImageException(err!);
        return r!;
    }

    public static bool TryParse(string? text, out ImageReference? reference, out string? error)
    {
        reference = null;
        error = null;
        try
        {
            reference = ParseCore(text ?? "");
            return true;
        }
        catch (ImageException e)
        {
            error = e.Message;
            return false;
        }
    }

    private static ImageReference ParseCore(string text)
    {
        string original = text;
        if (text.Length == 0) throw new ImageException("invalid reference format: empty reference");
        if (text.Any(char.IsWhiteSpace)) throw new ImageException($"invalid reference format: \"{original}\" contains whitespace");

        Digest? digest = null;
        int at = text.IndexOf('@');
        if (at >= 0)
        {
            if (!Content.Digest.TryParse(text[(at + 1)..], out var d, out var derr))
                throw new ImageException($"invalid reference format: \"{original}\": {derr}");
            digest = d;
            text = text[..at];
        }

        string? tag = null;
        int lastSlash = text.LastIndexOf('/');
        int tagColon = text.LastIndexOf(':');
        if (tagColon > lastSlash)
        {
            tag = text[(tagColon + 1)..];
            text = text[..tagColon];
            if (!TagPattern().IsMatch(tag)) throw new ImageException($"invalid reference format: \"{original}\": invalid tag \"{tag}\"");
        }

        if (text.Length == 0) throw new ImageException($"invalid reference format: \"{original}\": missing repository name");
        string registry = DockerHub;
        string path = text;
        int firstSlash = text.IndexOf('/');
        if (firstSlash >= 0)
        {
            string first = text[..firstSlash];
            if (first.Contains('.') || first.Contains(':') || first == "localhost" || first.Any(char.IsUpper))
            {
                if (!Domain().IsMatch(first)) throw new ImageException($"invalid reference format: \"{original}\": invalid registry host \"{first}\"");
                registry = first;
                path = text[(firstSlash + 1)..];
            }
        }
        if (registry == "index.docker.io") registry = DockerHub;

        if (path.Length == 0) throw new ImageException($"invalid reference format: \"{original}\": missing repository name");
        foreach (var component in path.Split('/'))
        {
            if (component.Any(char.IsUpper))
                throw new ImageException($"invalid reference format: repository name must be lowercase: \"{original}\"");
            if (!PathComponent().IsMatch(component))
                throw new ImageException($"invalid reference format: \"{original}\": invalid repository path component \"{component}\"");
        }
        if (registry == DockerHub && !path.Contains('/')) path = "library/" + path;
        if (registry.Length + 1 + path.Length > 255)
            throw new ImageException($"invalid reference format: \"{original}\": repository name longer than 255 characters");

        if (tag is null && digest is null) tag = DefaultTag;
        return new ImageReference(registry, path, tag, digest);
    }

    /// <summary>Validates a tag on its own (for <c>berth tag</c> and <c>--change</c>).</summary>
    public static string ValidateTag(string tag)
    {
        if (!TagPattern().IsMatch(tag)) throw new ImageException($"invalid tag \"{tag}\"");
        return tag;
    }

    /// <summary>True when the text looks like an image id or a prefix of one (hex, at least 4 characters).</summary>
    public static bool LooksLikeId(string text)
    {
        string hex = text.StartsWith("sha256:", StringComparison.Ordinal) ? text[7..] : text;
        return hex.Length is >= 4 and <= 64 && hex.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
    }

    public override bool Equals(object? obj) => obj is ImageReference r && r.ToString() == ToString();
    public override int GetHashCode() => ToString().GetHashCode();
}
