using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Berth.Cli.Client;

/// <summary>
/// A Docker Engine API client over a unix socket: HTTP/1.1 through <see cref="SocketsHttpHandler"/>
/// whose connections are unix-socket streams, the API version negotiated from <c>/_ping</c> like
/// docker's CLI (min of ours and the daemon's <c>Api-Version</c>; <c>DOCKER_API_VERSION</c> pins it),
/// errors turned into <see cref="DaemonException"/> with the daemon's message.
/// </summary>
public sealed class DockerClient : IDisposable
{
    public const string ClientMaxVersion = "1.51";
    public const string UserAgent = "Berth-Client/0.1.0 (linux)";
    private readonly HttpClient _http;

    public DaemonAddress Address { get; }
    public string ApiVersion { get; private set; } = ClientMaxVersion;
    public string Prefix => "/v" + ApiVersion;

    private DockerClient(DaemonAddress address)
    {
        Address = address;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try { await s.ConnectAsync(new UnixDomainSocketEndPoint(address.SocketPath), ct); }
                catch { s.Dispose(); throw; }
                return new NetworkStream(s, ownsSocket: true);
            },
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        };
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://api.moby.localhost"), Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd(UserAgent);
    }

    /// <summary>Connects and negotiates; starts berthd first when nothing answers on the default socket.</summary>
    public static async Task<DockerClient> ConnectAsync(DaemonAddress address, CancellationToken ct)
    {
        var c = new DockerClient(address);
        try
        {
            string? version;
            try { version = await c.PingAsync(ct); }
            catch (HttpRequestException e) when (IsNoDaemon(e))
            {
                if (!address.IsDefault) throw new DaemonUnreachableException(NoDaemonMessage(address));
                DaemonLauncher.Start(address);
                version = await c.WaitForDaemonAsync(ct);
            }
            c.ApiVersion = Negotiate(version);
            return c;
        }
        catch
        {
            c.Dispose();
            throw;
        }
    }

    public static string NoDaemonMessage(DaemonAddress a) => $"Cannot connect to the Berth daemon at {a.Url}. Is berthd running?";

    private static bool IsNoDaemon(HttpRequestException e) =>
        e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.AddressNotAvailable or SocketError.AccessDenied } ||
        e.InnerException is SocketException se && se.ErrorCode is 2 /* ENOENT */ || e.HttpRequestError == HttpRequestError.ConnectionError;

    internal static string Negotiate(string? serverVersion)
    {
        string? pinned = Environment.GetEnvironmentVariable("DOCKER_API_VERSION");
        if (!string.IsNullOrEmpty(pinned)) return pinned.TrimStart('v');
        if (serverVersion is null || !Version.TryParse(serverVersion, out var server)) return "1.24";
        return server < Version.Parse(ClientMaxVersion) ? serverVersion : ClientMaxVersion;
    }

    /// <summary>HEAD /_ping (GET when HEAD is not served); the daemon's Api-Version header.</summary>
    private async Task<string?> PingAsync(CancellationToken ct)
    {
        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/_ping"), ct);
        var r = head;
        HttpResponseMessage? get = null;
        if (head.StatusCode == HttpStatusCode.NotFound) r = get = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/_ping"), ct);
        using (get)
            return r.Headers.TryGetValues("Api-Version", out var v) ? v.FirstOrDefault() : null;
    }

    /// <summary>Waits for a daemon we just started to answer its first ping.</summary>
    private async Task<string?> WaitForDaemonAsync(CancellationToken ct)
    {
        var until = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try { return await PingAsync(ct); }
            catch (HttpRequestException e) when (IsNoDaemon(e) && DateTime.UtcNow < until && DaemonLauncher.StillRunning)
            {
                // The socket appears once berthd has opened its stores; there is nothing to block on before that.
                await Task.Delay(50, ct);
            }
            catch (HttpRequestException e) when (IsNoDaemon(e))
            {
                throw new DaemonUnreachableException($"{NoDaemonMessage(Address)} (berthd was started but did not answer; see {DaemonLauncher.LogPath})");
            }
        }
    }

    // ---------------------------------------------------------------- requests

    public static string Query(params (string Key, string? Value)[] pairs)
    {
        var sb = new StringBuilder();
        foreach (var (k, v) in pairs)
        {
            if (v is null) continue;
            sb.Append(sb.Length == 0 ? '?' : '&').Append(Uri.EscapeDataString(k)).Append('=').Append(Uri.EscapeDataString(v));
        }
        return sb.ToString();
    }

    /// <summary>Sends a request to <c>/vX.Y{path}</c>; a non-2xx answer throws with the daemon's message.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content = null,
        IEnumerable<KeyValuePair<string, string>>? headers = null, bool streaming = false, CancellationToken ct = default)
    {
        var req = new HttpRequestMessage(method, Prefix + path) { Content = content };
        if (headers is not null) foreach (var (k, v) in headers) req.Headers.TryAddWithoutValidation(k, v);
        var resp = await _http.SendAsync(req, streaming ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead, ct);
        if ((int)resp.StatusCode is >= 200 and < 400) return resp;
        using (resp) throw await ErrorOf(resp, ct);
    }

    public static async Task<DaemonException> ErrorOf(HttpResponseMessage resp, CancellationToken ct)
    {
        string body = await resp.Content.ReadAsStringAsync(ct);
        return new DaemonException((int)resp.StatusCode, MessageOf((int)resp.StatusCode, body));
    }

    public static string MessageOf(int status, string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("message", out var m) && m.GetString() is { Length: > 0 } s)
                return s;
        }
        catch (JsonException) { }
        return body.Trim() is { Length: > 0 } text && !text.StartsWith('{')
            ? text
            : $"API returned a {status} ({ReasonPhrase(status)}) but provided no error-message";
    }

    private static string ReasonPhrase(int status) => status switch
    {
        400 => "Bad Request", 401 => "Unauthorized", 403 => "Forbidden", 404 => "Not Found", 405 => "Method Not Allowed", 409 => "Conflict",
        500 => "Internal Server Error", 501 => "Not Implemented", 503 => "Service Unavailable", _ => ((HttpStatusCode)status).ToString(),
    };

    public async Task<JsonDocument> GetJsonAsync(string path, CancellationToken ct = default)
    {
        using var r = await SendAsync(HttpMethod.Get, path, ct: ct);
        return JsonDocument.Parse(await r.Content.ReadAsByteArrayAsync(ct));
    }

    /// <summary>A POST whose answer is not needed (204s and the like).</summary>
    public async Task PostAsync(string path, HttpContent? content = null, CancellationToken ct = default)
    {
        using var r = await SendAsync(HttpMethod.Post, path, content, ct: ct);
    }

    public static HttpContent JsonBody(byte[] utf8)
    {
        var c = new ByteArrayContent(utf8);
        c.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        return c;
    }

    /// <summary>Reads a docker JSON-lines stream (pull, push, load, events), one object at a time.</summary>
    public static async IAsyncEnumerable<JsonElement> ReadJsonLines(Stream s, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        using var reader = new StreamReader(s, Encoding.UTF8);
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.Trim().Length == 0) continue;
            JsonElement e;
            try { e = JsonDocument.Parse(line).RootElement; }
            catch (JsonException) { continue; }
            yield return e;
        }
    }

    // ---------------------------------------------------------------- hijack

    /// <summary>
    /// POSTs with <c>Connection: Upgrade</c>/<c>Upgrade: tcp</c> on a connection of its own and, on
    /// 101, hands over the raw socket (attach, exec start). A 200 (a detached exec start) ends the
    /// exchange; an error status throws with the daemon's message.
    /// </summary>
    public async Task<HijackedConnection> HijackAsync(string path, byte[]? jsonBody, CancellationToken ct)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await s.ConnectAsync(new UnixDomainSocketEndPoint(Address.SocketPath), ct);
            var head = new StringBuilder()
                .Append("POST ").Append(Prefix).Append(path).Append(" HTTP/1.1\r\n")
                .Append("Host: api.moby.localhost\r\n")
                .Append("User-Agent: ").Append(UserAgent).Append("\r\n")
                .Append("Connection: Upgrade\r\nUpgrade: tcp\r\n")
                .Append("Content-Type: ").Append(jsonBody is null ? "text/plain" : "application/json").Append("\r\n")
                .Append("Content-Length: ").Append((jsonBody?.Length ?? 0).ToString(CultureInfo.InvariantCulture)).Append("\r\n\r\n");
            await s.SendAsync(Encoding.ASCII.GetBytes(head.ToString()), SocketFlags.None, ct);
            if (jsonBody is { Length: > 0 }) await s.SendAsync(jsonBody, SocketFlags.None, ct);

            // Read the response head byte-wise-buffered; whatever follows it belongs to the stream.
            var buf = new byte[8192];
            int have = 0, end;
            while ((end = HeadEnd(buf, have)) < 0)
            {
                if (have == buf.Length) Array.Resize(ref buf, buf.Length * 2);
                int n = await s.ReceiveAsync(buf.AsMemory(have), SocketFlags.None, ct);
                if (n == 0) throw new DaemonException(500, "the daemon closed the connection before answering");
                have += n;
            }
            string text = Encoding.ASCII.GetString(buf, 0, end);
            var lines = text.Split("\r\n");
            var status = lines[0].Split(' ');
            int code = status.Length > 1 && int.TryParse(status[1], out var c) ? c : 500;
            var leftover = buf.AsSpan(end + 4, have - end - 4).ToArray();
            if (code == 101 || code is 200 or 204)
                return new HijackedConnection(s, leftover, upgraded: code == 101);

            int length = 0;
            foreach (var l in lines)
                if (l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) int.TryParse(l[15..].Trim(), out length);
            var body = new MemoryStream();
            body.Write(leftover);
            var chunk = new byte[4096];
            while (body.Length < length)
            {
                int n = await s.ReceiveAsync(chunk, SocketFlags.None, ct);
                if (n == 0) break;
                body.Write(chunk, 0, n);
            }
            s.Dispose();
            throw new DaemonException(code, MessageOf(code, Encoding.UTF8.GetString(body.ToArray())));
        }
        catch (SocketException e)
        {
            s.Dispose();
            throw new DaemonUnreachableException($"{NoDaemonMessage(Address)} ({e.Message})");
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    private static int HeadEnd(byte[] b, int len)
    {
        for (int i = 0; i + 3 < len; i++)
            if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n') return i;
        return -1;
    }

    public void Dispose() => _http.Dispose();
}
