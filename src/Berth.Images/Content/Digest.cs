using System.Security.Cryptography;

namespace Berth.Images.Content;

/// <summary>A content digest, <c>sha256:&lt;64 hex&gt;</c>. Only sha256 is accepted for content Berth stores.</summary>
public readonly record struct Digest(string Algorithm, string Hex)
{
    public override string ToString() => $"{Algorithm}:{Hex}";

    public static Digest Parse(string text)
    {
        if (!TryParse(text, out var d, out var error)) throw new ImageException(error!);
        return d;
    }

    public static bool TryParse(string? text, out Digest digest, out string? error)
    {
        digest = default;
        error = null;
        if (string.IsNullOrEmpty(text)) { error = "empty digest"; return false; }
        int colon = text.IndexOf(':');
        if (colon <= 0) { error = $"invalid digest \"{text}\": expected algorithm:hex"; return false; }
        string alg = text[..colon], hex = text[(colon + 1)..];
        int want = alg switch { "sha256" => 64, "sha512" => 128, _ => -1 };
        if (want < 0) { error = $"unsupported digest algorithm \"{alg}\" in \"{text}\""; return false; }
        if (hex.Length != want || !hex.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f'))
        {
            error = $"invalid digest \"{text}\": {alg} needs {want} lowercase hex characters";
            return false;
        }
        if (alg != "sha256") { error = $"unsupported digest algorithm \"{alg}\" (only sha256)"; return false; }
        digest = new Digest(alg, hex);
        return true;
    }

    public static Digest Of(ReadOnlySpan<byte> data) => new("sha256", Convert.ToHexStringLower(SHA256.HashData(data)));

    public static Digest FromHash(byte[] sha256) => new("sha256", Convert.ToHexStringLower(sha256));

    /// <summary>The short id docker shows: the first 12 hex characters.</summary>
    public string Short => Hex[..12];
}
