using Berth.Engine.Api;

namespace Berth.Engine.Containers.Health;

/// <summary>docker's health check settings: the image's HEALTHCHECK merged with the run flags, and the defaults.</summary>
public static class HealthcheckSettings
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultStartInterval = TimeSpan.FromSeconds(5);
    public const int DefaultRetries = 3;
    /// <summary>docker keeps the last 5 results and at most 4 KiB of each one's output.</summary>
    public const int MaxLogEntries = 5, MaxOutputLength = 4096;

    /// <summary>
    /// The request's Healthcheck wins field by field; an empty Test (or a zero field) takes the
    /// image's (docker's merge). Null when neither has one.
    /// </summary>
    public static HealthConfig? Merge(HealthConfig? req, Berth.Images.Models.ImageHealthcheck? image)
    {
        if (image is null) return req;
        var h = req ?? new HealthConfig();
        if (h.Test is not { Count: > 0 }) h.Test = image.Test;
        if (h.Interval == 0) h.Interval = image.Interval ?? 0;
        if (h.Timeout == 0) h.Timeout = image.Timeout ?? 0;
        if (h.StartPeriod == 0) h.StartPeriod = image.StartPeriod ?? 0;
        if (h.StartInterval == 0) h.StartInterval = image.StartInterval ?? 0;
        if (h.Retries == 0) h.Retries = image.Retries ?? 0;
        return h;
    }

    /// <summary>True when the config asks for probes (a Test that is not NONE).</summary>
    public static bool Enabled(HealthConfig? h) => h?.Test is [var kind, ..] && kind != "NONE" && (kind != "CMD" && kind != "CMD-SHELL" || h.Test.Count > 1);

    /// <summary>The probe's argv: CMD runs as given, CMD-SHELL through /bin/sh -c.</summary>
    public static List<string> Command(HealthConfig h) => h.Test![0] switch
    {
        "CMD-SHELL" => ["/bin/sh", "-c", string.Join(' ', h.Test.Skip(1))],
        _ => h.Test.Skip(1).ToList(),
    };

    public static TimeSpan Or(long ns, TimeSpan fallback) => ns > 0 ? TimeSpan.FromTicks(ns / 100) : fallback;
}
