using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace Berth.Images.Tests;

/// <summary>
/// A small bearer-token endpoint (the docker token protocol) on 127.0.0.1 for docker-registry's
/// token auth: it checks basic credentials, grants the scopes asked for, and signs RS256 JWTs
/// with a self-signed certificate that the registry trusts (x5c header).
/// </summary>
public sealed class TokenServer : IDisposable
{
    private readonly HttpListener _listener;
    private readonly RSA _key = RSA.Create(2048);
    private readonly X509Certificate2 _cert;
    private readonly string _user, _password;
    private readonly Task _loop;
    public int Port { get; }
    public const string Service = "berth-test-registry";
    public const string Issuer = "berth-test-token-issuer";
    public int TokensIssued;
    public List<string> ScopesAsked { get; } = [];

    public TokenServer(string user, string password)
    {
        _user = user;
        _password = password;
        var req = new CertificateRequest("CN=berth-test-token", _key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign, true));
        _cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        (_listener, Port) = RegistryServer.StartListener();
        _loop = Task.Run(Loop);
    }

    public RegistryServer.TokenAuth Auth => new($"http://127.0.0.1:{Port}/token", Service, Issuer, _cert.ExportCertificatePem());

    private async Task Loop()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            try { Handle(ctx); }
            catch (Exception) { ctx.Response.StatusCode = 500; }
            finally { ctx.Response.Close(); }
        }
    }

    private void Handle(HttpListenerContext ctx)
    {
        string? auth = ctx.Request.Headers["Authorization"];
        string? user = null;
        if (auth is not null && auth.StartsWith("Basic "))
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(auth[6..])).Split(':', 2);
            if (decoded.Length == 2 && decoded[0] == _user && decoded[1] == _password) user = decoded[0];
            else { ctx.Response.StatusCode = 401; return; }
        }
        if (user is null) { ctx.Response.StatusCode = 401; return; }
        var scopes = ctx.Request.QueryString.GetValues("scope") ?? [];
        lock (ScopesAsked) ScopesAsked.AddRange(scopes);
        var access = new List<object>();
        var json = new StringBuilder("[");
        foreach (var s in scopes)
        {
            var parts = s.Split(':');
            if (parts.Length != 3) continue;
            if (json.Length > 1) json.Append(',');
            json.Append($"{{\"type\":{JsonSerializer.Serialize(parts[0])},\"name\":{JsonSerializer.Serialize(parts[1])},\"actions\":[{string.Join(',', parts[2].Split(',').Select(a => JsonSerializer.Serialize(a)))}]}}");
        }
        json.Append(']');
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string header = $"{{\"alg\":\"RS256\",\"typ\":\"JWT\",\"x5c\":[\"{Convert.ToBase64String(_cert.RawData)}\"]}}";
        string claims = $"{{\"iss\":\"{Issuer}\",\"sub\":\"{user}\",\"aud\":\"{Service}\",\"exp\":{now + 300},\"nbf\":{now - 10},\"iat\":{now},\"jti\":\"{Guid.NewGuid():N}\",\"access\":{json}}}";
        string signingInput = B64(Encoding.UTF8.GetBytes(header)) + "." + B64(Encoding.UTF8.GetBytes(claims));
        string sig = B64(_key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        string token = signingInput + "." + sig;
        Interlocked.Increment(ref TokensIssued);
        var body = Encoding.UTF8.GetBytes($"{{\"token\":\"{token}\",\"expires_in\":300}}");
        ctx.Response.ContentType = "application/json";
        ctx.Response.OutputStream.Write(body);
    }

    private static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public void Dispose()
    {
        // Close alone: after Stop, the managed HttpListener's Close looks its endpoint up again and,
        // not finding it, binds the port anew; another test may hold that port by then (EADDRINUSE).
        _listener.Close();
        try { _loop.Wait(2000); } catch (AggregateException) { }
        _key.Dispose();
        _cert.Dispose();
    }
}
