using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Berth.Images.Content;
using Berth.Images.Models;
using Berth.Images.References;

namespace Berth.Images.Registry;

/// <summary>Settings of a <see cref="RegistryClient"/>.</summary>
public sealed class RegistryOptions
{
    /// <summary>Where credentials come from (null: none, anonymous only).</summary>
    public CredentialStore? Credentials { get; init; }
    /// <summary>Credentials to use instead of the store's (for <c>login</c>).</summary>
    public Credentials? ExplicitCredentials { get; init; }
    /// <summary>Registries spoken to over plain HTTP besides localhost (docker's insecure-registries).</summary>
    public IReadOnlyCollection<string> InsecureRegistries { get; init; } = [];
    /// <summary>Tries of one idempotent request before its failure is reported.</summary>
    public int MaxAttempts { get; init; } = 3;
    /// <summary>Uploads larger than this go in chunks (PATCH) instead of one PUT.</summary>
    public long ChunkSize { get; init; } = 32L << 20;
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);
}

/// <summary>
/// A client of the OCI distribution API: manifests, blobs (ranged, resumable), uploads
/// (monolithic, chunked, cross-repository mount), with anonymous, basic and bearer-token auth
/// driven by the registry's <c>WWW-Authenticate</c> challenge.
/// </summary>
public sealed class RegistryClient : IDisposable
{
    private readonly RegistryOptions _options;
    private readonly HttpClient _http;
    private readonly Dictionary<string, AuthenticationHeaderValue> _auth = new();   // (registry|scope) -> header
    private readonly Dictionary<string, AuthChallenge> _challenges = new();           // registry -> challenge
    private readonly Lock _gate = new();

    public RegistryClient(RegistryOptions? options = null)
    {
        _options = options ?? new RegistryOptions();
        var handler = new SocketsHttpHandler
        {
            AutomaticDecompression = DecompressionMethods.None,
            MaxConnectionsPerServer = 16,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            ConnectTimeout = TimeSpan.FromSeconds(15),
            AllowAutoRedirect = true,
        };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("berth/0.1");
    }

    public void Dispose() => _http.Dispose();

    /// <summary>True for registries spoken to over plain HTTP: loopback names and configured insecure ones.</summary>
    public bool IsInsecure(string registry)
    {
        string host = HostOf(registry);
        if (host is "localhost" or "::1" || host.StartsWith("127.", StringComparison.Ordinal)) return true;
        return _options.InsecureRegistries.Contains(registry) || _options.InsecureRegistries.Contains(host);
    }

    private static string HostOf(string registry)
    {
        if (registry.StartsWith('[')) return registry[1..registry.IndexOf(']')];
        int colon = registry.LastIndexOf(':');
        return colon < 0 ? registry : registry[..colon];
    }

    public Uri BaseUri(string registry)
    {
        string host = registry == ImageReference.DockerHub ? "registry-1.docker.io" : registry;
        return new Uri($"{(IsInsecure(registry) ? "http" : "https")}://{host}/");
    }

    private static string PullScope(string repo) => $"repository:{repo}:pull";
    private static string PushScope(string repo) => $"repository:{repo}:pull,push";

    // ---- manifests ----

    public async Task<(byte[] Data, string MediaType, Digest Digest)> GetManifestAsync(ImageReference r, string reference, CancellationToken ct = default)
    {
        var uri = new Uri(BaseUri(r.Registry), $"v2/{r.Repository}/manifests/{reference}");
        using var resp = await SendAsync(() =>
        {
            var req = new HttpRequestMessage(HttpMethod.Get, uri);
            foreach (var mt in MediaTypes.AcceptedManifests) req.Headers.Accept.ParseAdd(mt);
            req.Headers.Accept.ParseAdd(MediaTypes.DockerSchema1Signed + ";q=0.1");
            return req;
        }, r.Registry, [PullScope(r.Repository)], idempotent: true, $"manifest {r.Name}:{reference}", ct);
        await EnsureSuccess(resp, r.Registry, $"manifest {r.Familiar}", ct);
        var data = await resp.Content.ReadAsByteArrayAsync(ct);
        if (data.Length > 4 << 20) throw new RegistryException($"manifest {r.Familiar} is larger than 4 MiB");
        var digest = Digest.Of(data);
        if (reference.StartsWith("sha256:", StringComparison.Ordinal) && reference != digest.ToString())
            throw new RegistryException($"manifest {r.Familiar}: digest mismatch, asked for {reference}, got {digest}");
        string mediaType = resp.Content.Headers.ContentType?.MediaType ?? "";
        return (data, mediaType, digest);
    }

    public async Task<Digest> PutManifestAsync(ImageReference r, string reference, byte[] data, string mediaType, CancellationToken ct = default)
    {
        var uri = new Uri(BaseUri(r.Registry), $"v2/{r.Repository}/manifests/{reference}");
        using var resp = await SendAsync(() =>
        {
            var c = new ByteArrayContent(data);
            c.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
            return new HttpRequestMessage(HttpMethod.Put, uri) { Content = c };
        }, r.Registry, [PushScope(r.Repository)], idempotent: true, $"manifest {r.Name}:{reference}", ct);
        await EnsureSuccess(resp, r.Registry, $"push manifest {r.Familiar}", ct);
        return Digest.Of(data);
    }

    // ---- blobs ----

    /// <summary>Opens a blob from <paramref name="offset"/>; <c>Partial</c> says whether the registry honoured the range.</summary>
    public async Task<(HttpResponseMessage Response, bool Partial)> OpenBlobAsync(ImageReference r, Digest d, long offset, CancellationToken ct = default)
    {
        var uri = new Uri(BaseUri(r.Registry), $"v2/{r.Repository}/blobs/{d}");
        var resp = await SendAsync(() =>
        {
            var req = new HttpRequestMessage(HttpMethod.Get, uri);
            if (offset > 0) req.Headers.Range = new RangeHeaderValue(offset, null);
            return req;
        }, r.Registry, [PullScope(r.Repository)], idempotent: true, $"blob {d}", ct);
        try
        {
            await EnsureSuccess(resp, r.Registry, $"blob {d.Short} of {r.Familiar}", ct);
        }
        catch
        {
            resp.Dispose();
            throw;
        }
        return (resp, resp.StatusCode == HttpStatusCode.PartialContent);
    }

    public async Task<byte[]> GetBlobAsync(ImageReference r, Digest d, long maxSize, CancellationToken ct = default)
    {
        var (resp, _) = await OpenBlobAsync(r, d, 0, ct);
        using (resp)
        {
            if (resp.Content.Headers.ContentLength > maxSize) throw new RegistryException($"blob {d} is larger than {maxSize} bytes");
            var data = await resp.Content.ReadAsByteArrayAsync(ct);
            var actual = Digest.Of(data);
            if (actual != d) throw new RegistryException($"blob {d.Short} of {r.Familiar}: digest mismatch (registry sent {actual})");
            return data;
        }
    }

    public async Task<bool> BlobExistsAsync(ImageReference r, Digest d, CancellationToken ct = default)
    {
        var uri = new Uri(BaseUri(r.Registry), $"v2/{r.Repository}/blobs/{d}");
        using var resp = await SendAsync(() => new HttpRequestMessage(HttpMethod.Head, uri), r.Registry, [PushScope(r.Repository)], true, $"blob {d}", ct);
        if (resp.StatusCode == HttpStatusCode.NotFound) return false;
        await EnsureSuccess(resp, r.Registry, $"blob {d.Short} of {r.Familiar}", ct);
        return true;
    }

    /// <summary>
    /// Starts an upload; with <paramref name="mountFrom"/> asks the registry to mount the blob from
    /// that repository instead. Returns null when the blob was mounted, else the upload location.
    /// </summary>
    public async Task<Uri?> StartUploadAsync(ImageReference r, Digest? mount, string? mountFrom, CancellationToken ct = default)
    {
        string query = mount is { } m && mountFrom is not null ? $"?mount={m}&from={Uri.EscapeDataString(mountFrom)}" : "";
        var uri = new Uri(BaseUri(r.Registry), $"v2/{r.Repository}/blobs/uploads/{query}");
        string[] scopes = mountFrom is null ? [PushScope(r.Repository)] : [PushScope(r.Repository), PullScope(mountFrom)];
        using var resp = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent([]) },
            r.Registry, scopes, idempotent: false, "upload", ct);
        if (resp.StatusCode == HttpStatusCode.Created && mount is not null) return null;
        await EnsureSuccess(resp, r.Registry, $"start upload to {r.Familiar}", ct);
        return Location(resp, r.Registry);
    }

    /// <summary>Uploads a blob: one PUT when it fits <see cref="RegistryOptions.ChunkSize"/>, else PATCH chunks and a closing PUT.</summary>
    public async Task UploadBlobAsync(ImageReference r, Uri location, Digest d, long size, Stream content, IProgress<long>? progress, CancellationToken ct = default)
    {
        string[] scopes = [PushScope(r.Repository)];
        if (size > _options.ChunkSize)
        {
            long offset = 0;
            var buf = new byte[_options.ChunkSize];
            while (offset < size)
            {
                int n = await ReadFull(content, buf, (int)Math.Min(buf.Length, size - offset), ct);
                if (n == 0) throw new ImageException($"blob {d} ended early while pushing");
                var loc = location;
                long start = offset;
                using var resp = await SendAsync(() =>
                {
                    var c = new ByteArrayContent(buf, 0, n);
                    c.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                    var req = new HttpRequestMessage(HttpMethod.Patch, loc) { Content = c };
                    req.Content.Headers.TryAddWithoutValidation("Content-Range", $"{start}-{start + n - 1}");
                    return req;
                }, r.Registry, scopes, idempotent: false, $"chunk of {d}", ct);
                await EnsureSuccess(resp, r.Registry, $"upload of {d.Short} to {r.Familiar}", ct);
                location = Location(resp, r.Registry);
                offset += n;
                progress?.Report(offset);
            }
            using var done = await SendAsync(() => new HttpRequestMessage(HttpMethod.Put, WithDigest(location, d)) { Content = new ByteArrayContent([]) },
                r.Registry, scopes, idempotent: false, $"upload of {d}", ct);
            await EnsureSuccess(done, r.Registry, $"upload of {d.Short} to {r.Familiar}", ct);
            return;
        }

        var body = new byte[size];
        if (await ReadFull(content, body, (int)size, ct) != size) throw new ImageException($"blob {d} ended early while pushing");
        using var put = await SendAsync(() =>
        {
            var c = new ByteArrayContent(body);
            c.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            return new HttpRequestMessage(HttpMethod.Put, WithDigest(location, d)) { Content = c };
        }, r.Registry, scopes, idempotent: false, $"upload of {d}", ct);
        await EnsureSuccess(put, r.Registry, $"upload of {d.Short} to {r.Familiar}", ct);
        progress?.Report(size);
    }

    /// <summary>Checks that the registry accepts the credentials (GET /v2/ and, for bearer auth, a token).</summary>
    public async Task CheckLoginAsync(string registry, CancellationToken ct = default)
    {
        var uri = new Uri(BaseUri(registry), "v2/");
        using var resp = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, uri), registry, [], true, "login", ct, requireAuth: true);
        await EnsureSuccess(resp, registry, "login", ct);
    }

    private static async Task<int> ReadFull(Stream s, byte[] buf, int count, CancellationToken ct)
    {
        int off = 0;
        while (off < count)
        {
            int n = await s.ReadAsync(buf.AsMemory(off, count - off), ct);
            if (n == 0) break;
            off += n;
        }
        return off;
    }

    private static Uri WithDigest(Uri location, Digest d)
    {
        string s = location.ToString();
        return new Uri(s + (s.Contains('?') ? "&" : "?") + "digest=" + Uri.EscapeDataString(d.ToString()));
    }

    private Uri Location(HttpResponseMessage resp, string registry)
    {
        var loc = resp.Headers.Location ?? throw new RegistryException($"registry {registry} sent no upload location");
        return loc.IsAbsoluteUri ? loc : new Uri(BaseUri(registry), loc);
    }

    // ---- requests, auth, retries ----

    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> make, string registry, string[] scopes, bool idempotent,
        string what, CancellationToken ct, bool requireAuth = false)
    {
        string key = registry + "|" + string.Join(' ', scopes);
        bool triedAuth = false;
        for (int attempt = 1; ; attempt++)
        {
            HttpResponseMessage resp;
            using (var req = make())
            {
                AuthenticationHeaderValue? header;
                lock (_gate) _auth.TryGetValue(key, out header);
                if (header is null && requireAuth && Creds(registry) is { } c0 && !triedAuth)
                    header = Basic(c0);
                if (header is null)
                {
                    // Reuse what this registry asked for before, so parallel blob requests need no 401 round trip each.
                    AuthChallenge? known;
                    lock (_gate) _challenges.TryGetValue(registry, out known);
                    if (known is not null && !triedAuth) { header = await Authorize(known, registry, scopes, ct); triedAuth = true; }
                }
                req.Headers.Authorization = header;
                try
                {
                    resp = await _http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, ct);
                }
                catch (HttpRequestException e) when (idempotent && attempt < _options.MaxAttempts)
                {
                    _ = e;
                    await Task.Delay(_options.RetryDelay * attempt, ct);
                    continue;
                }
                catch (HttpRequestException e)
                {
                    throw new RegistryException($"cannot reach registry {registry} ({what}): {OneLine(e)}", e);
                }
            }

            if (resp.StatusCode == HttpStatusCode.Unauthorized && !triedAuth)
            {
                var challenge = AuthChallenge.Parse(resp.Headers.WwwAuthenticate.ToString());
                resp.Dispose();
                if (challenge is null) throw new RegistryException($"unauthorized: registry {registry} refused {what} without a challenge", HttpStatusCode.Unauthorized);
                lock (_gate) _challenges[registry] = challenge;
                var h = await Authorize(challenge, registry, scopes, ct);
                lock (_gate) { if (h is null) _auth.Remove(key); else _auth[key] = h; }
                triedAuth = true;
                if (h is null) throw new RegistryException($"unauthorized: authentication required by {registry} for {what} (berth login {registry})", HttpStatusCode.Unauthorized);
                attempt--;
                continue;
            }
            if (idempotent && attempt < _options.MaxAttempts && (int)resp.StatusCode is 429 or 502 or 503 or 504)
            {
                resp.Dispose();
                await Task.Delay(_options.RetryDelay * attempt, ct);
                continue;
            }
            return resp;
        }
    }

    private Credentials? Creds(string registry) => _options.ExplicitCredentials ?? _options.Credentials?.Get(registry);

    private static AuthenticationHeaderValue Basic(Credentials c) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{c.Username}:{c.Password}")));

    /// <summary>The Authorization header answering a challenge; null when there is nothing to answer with.</summary>
    private async Task<AuthenticationHeaderValue?> Authorize(AuthChallenge challenge, string registry, string[] scopes, CancellationToken ct)
    {
        var creds = Creds(registry);
        if (challenge.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
            return creds is null ? null : Basic(creds);
        if (!challenge.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
            throw new RegistryException($"registry {registry} asks for unsupported authentication \"{challenge.Scheme}\"");
        string realm = challenge["realm"] ?? throw new RegistryException($"registry {registry} sent a bearer challenge without a realm");
        var q = new StringBuilder();
        if (challenge["service"] is { } service) q.Append("service=").Append(Uri.EscapeDataString(service));
        var allScopes = scopes.Length > 0 ? scopes : (challenge["scope"] is { } s ? [s] : []);
        foreach (var scope in allScopes) q.Append(q.Length > 0 ? "&" : "").Append("scope=").Append(Uri.EscapeDataString(scope));
        if (!Uri.TryCreate(realm + (q.Length > 0 ? (realm.Contains('?') ? "&" : "?") + q : ""), UriKind.Absolute, out var tokenUri))
            throw new RegistryException($"registry {registry} sent an invalid token realm \"{realm}\"");
        using var req = new HttpRequestMessage(HttpMethod.Get, tokenUri);
        if (creds is not null) req.Headers.Authorization = Basic(creds);
        HttpResponseMessage resp;
        try { resp = await _http.SendAsync(req, ct); }
        catch (HttpRequestException e) { throw new RegistryException($"cannot reach token server {tokenUri.Authority} for {registry}: {OneLine(e)}", e); }
        using (resp)
        {
            if (resp.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                throw new RegistryException($"unauthorized: token server {tokenUri.Authority} refused {(creds is null ? "anonymous access" : $"the credentials of {creds.Username}")} for {registry}", HttpStatusCode.Unauthorized);
            if (!resp.IsSuccessStatusCode)
                throw new RegistryException($"token server {tokenUri.Authority} answered {(int)resp.StatusCode} {resp.ReasonPhrase}");
            var body = await resp.Content.ReadAsByteArrayAsync(ct);
            try
            {
                using var doc = JsonDocument.Parse(body);
                string? token = null;
                if (doc.RootElement.TryGetProperty("token", out var t) && t.ValueKind == JsonValueKind.String) token = t.GetString();
                if (string.IsNullOrEmpty(token) && doc.RootElement.TryGetProperty("access_token", out var a) && a.ValueKind == JsonValueKind.String) token = a.GetString();
                if (string.IsNullOrEmpty(token)) throw new RegistryException($"token server {tokenUri.Authority} sent no token");
                return new AuthenticationHeaderValue("Bearer", token);
            }
            catch (JsonException)
            {
                throw new RegistryException($"token server {tokenUri.Authority} sent a response that is not JSON");
            }
        }
    }

    private static async Task EnsureSuccess(HttpResponseMessage resp, string registry, string what, CancellationToken ct)
    {
        if (resp.IsSuccessStatusCode) return;
        string detail = "";
        try
        {
            var body = await resp.Content.ReadAsByteArrayAsync(ct);
            if (body.Length > 0 && body.Length < 1 << 16)
            {
                using var doc = JsonDocument.Parse(body);
                if (doc.RootElement.TryGetProperty("errors", out var errs) && errs.ValueKind == JsonValueKind.Array && errs.GetArrayLength() > 0)
                {
                    var e0 = errs[0];
                    string code = e0.TryGetProperty("code", out var c) ? c.GetString() ?? "" : "";
                    string msg = e0.TryGetProperty("message", out var m) ? m.GetString() ?? "" : "";
                    detail = $": {code.ToLowerInvariant().Replace('_', ' ')}{(msg.Length > 0 && !msg.Equals(code.Replace('_', ' '), StringComparison.OrdinalIgnoreCase) ? " (" + msg + ")" : "")}";
                }
            }
        }
        catch (JsonException) { }
        catch (HttpRequestException) { }
        catch (IOException) { }
        string message = resp.StatusCode switch
        {
            HttpStatusCode.NotFound => $"{what}: not found on {registry}{detail}",
            HttpStatusCode.Unauthorized => $"unauthorized: {registry} refused {what}{detail}",
            HttpStatusCode.Forbidden => $"denied: {registry} refused {what}{detail}",
            _ => $"{what}: registry {registry} answered {(int)resp.StatusCode} {resp.ReasonPhrase}{detail}",
        };
        throw new RegistryException(message, resp.StatusCode);
    }

    internal static string OneLine(Exception e)
    {
        var inner = e;
        while (inner.InnerException is not null) inner = inner.InnerException;
        string m = inner == e ? e.Message : $"{e.Message} ({inner.Message})";
        return m.Replace('\n', ' ').Replace('\r', ' ');
    }
}
