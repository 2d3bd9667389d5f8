using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.AspNetCore.Hosting;

namespace Berth.Daemon;

/// <summary>docker's daemon TLS flags: --tls (encrypt), --tlsverify (also verify client certificates against --tlscacert).</summary>
public sealed class TlsSettings
{
    public bool Tls { get; set; }
    public bool TlsExplicit { get; set; }
    public bool Verify { get; set; }
    public bool VerifyExplicit { get; set; }
    public string CaCert { get; set; } = "";
    public string Cert { get; set; } = "";
    public string Key { get; set; } = "";
    public bool Enabled => Tls || Verify;

    /// <summary>Why TCP may not be served as configured, or null.</summary>
    public string? Problem(string host)
    {
        if (!Enabled)
        {
            // only an explicit --tls=false / --tlsverify=false accepts an unencrypted, unauthenticated TCP socket
            if (TlsExplicit || VerifyExplicit) return null;
            return $"refusing to serve {host} without TLS: anyone who reaches it is root on this host; use --tlsverify with --tlscacert, --tlscert and --tlskey, or --tls=false to accept that";
        }
        if (Cert == "" || Key == "") return "TLS needs --tlscert and --tlskey";
        if (Verify && CaCert == "") return "--tlsverify needs --tlscacert (the CA that signs the client certificates)";
        return null;
    }

    public static IPEndPoint ParseTcp(string url, bool tls)
    {
        var rest = url["tcp://".Length..].TrimEnd('/');
        int colon = rest.LastIndexOf(':');
        string host = colon >= 0 ? rest[..colon] : rest;
        int port = colon >= 0 && int.TryParse(rest[(colon + 1)..], out var p) ? p : tls ? 2376 : 2375;
        host = host.Trim('[', ']');
        IPAddress ip = host is "" or "0.0.0.0" ? IPAddress.Any : host == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(host, out var a) ? a : Dns.GetHostAddresses(host).First();
        return new IPEndPoint(ip, port);
    }
}

/// <summary>The loaded certificates and the Kestrel HTTPS set-up for one TCP listener.</summary>
public sealed class TlsListener
{
    private readonly X509Certificate2 _server;
    private readonly X509Certificate2Collection? _ca;
    public bool VerifiesClients => _ca is not null;

    private TlsListener(X509Certificate2 server, X509Certificate2Collection? ca) { _server = server; _ca = ca; }

    public static TlsListener Load(TlsSettings s)
    {
        var server = X509Certificate2.CreateFromPemFile(s.Cert, s.Key);
        X509Certificate2Collection? ca = null;
        if (s.Verify)
        {
            ca = new X509Certificate2Collection();
            ca.ImportFromPemFile(s.CaCert);
            if (ca.Count == 0) throw new IOException($"no certificate in {s.CaCert}");
        }
        return new TlsListener(server, ca);
    }

    public void Apply(Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions l)
    {
        l.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = _server,
            SslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
            ClientCertificateMode = _ca is null ? ClientCertificateMode.NoCertificate : ClientCertificateMode.RequireCertificate,
            ClientCertificateValidation = _ca is null ? null : (cert, _, _) => ValidClient(cert),
        });
    }

    /// <summary>A client certificate is good when it chains to one of our CAs (and only those) and is meant for client authentication.</summary>
    private bool ValidClient(X509Certificate2 cert)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_ca!);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2"));
        return chain.Build(cert);
    }
}
