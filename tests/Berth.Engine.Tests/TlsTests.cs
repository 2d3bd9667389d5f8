using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Berth.Engine.Tests;

/// <summary>
/// berthd on TCP: only with TLS (or an explicit --tls=false), and with --tlsverify only for
/// clients whose certificate our CA signed. Certificates are made here with CertificateRequest.
/// </summary>
public sealed class TlsTests : IDisposable
{
    private readonly string _dir = Path.Combine("/tmp", "bet-tls-" + Guid.NewGuid().ToString("N")[..8]);
    private Process? _daemon;

    public TlsTests() => Directory.CreateDirectory(_dir);

    private static bool Available => Environment.UserName == "root" && File.Exists("/usr/local/bin/docker") && File.Exists(DaemonFixture.Berthd);

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private ProcessStartInfo Berthd(params string[] extra)
    {
        var psi = new ProcessStartInfo(DaemonFixture.Berthd) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--data-root", Path.Combine(_dir, "data"), "--exec-root", Path.Combine(_dir, "exec"), "-H", "unix://" + Path.Combine(_dir, "b.sock"),
                     "--cgroup-parent", "/berth-tls-test" }.Concat(extra))
            psi.ArgumentList.Add(a);
        return psi;
    }

    private (int Code, string Stdout, string Stderr) Docker(params string[] args)
    {
        var psi = new ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.Environment["DOCKER_CONFIG"] = Path.Combine(_dir, "docker-config");
        psi.Environment.Remove("DOCKER_HOST");
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60000)) { p.Kill(true); throw new TimeoutException("docker timed out"); }
        return (p.ExitCode, so.Result, se.Result);
    }

    private static X509Certificate2 MakeCa(string cn)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN={cn}", key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        return req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    /// <summary>Writes NAME.pem and NAME-key.pem: a certificate the CA signs, for server or client use.</summary>
    private void Issue(X509Certificate2 ca, string name, bool server)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (server)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            san.AddDnsName("localhost");
            req.CertificateExtensions.Add(san.Build());
        }
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        using var cert = req.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10), serial);
        File.WriteAllText(Path.Combine(_dir, name + ".pem"), cert.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_dir, name + "-key.pem"), key.ExportPkcs8PrivateKeyPem());
    }

    private void StartDaemon(int port, params string[] tls)
    {
        _daemon = Process.Start(Berthd(["-H", $"tcp://127.0.0.1:{port}", .. tls]))!;
        _daemon.BeginOutputReadLine();
        _daemon.BeginErrorReadLine();
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (_daemon.HasExited) Assert.Fail($"berthd exited with {_daemon.ExitCode}");
            try { using var c = new TcpClient(); c.Connect(IPAddress.Loopback, port); return; }
            catch (SocketException) { if (sw.Elapsed > TimeSpan.FromSeconds(60)) Assert.Fail("berthd did not listen"); Thread.Sleep(100); }
        }
    }

    [Fact]
    public void TlsVerifyServesOnlyClientsWithACertificateFromItsCa()
    {
        if (!Available) return;
        using var ca = MakeCa("berth test CA");
        File.WriteAllText(Path.Combine(_dir, "ca.pem"), ca.ExportCertificatePem());
        Issue(ca, "server", server: true);
        Issue(ca, "client", server: false);
        using var otherCa = MakeCa("someone else");
        Issue(otherCa, "stranger", server: false);
        int port = FreePort();
        string F(string n) => Path.Combine(_dir, n);
        StartDaemon(port, "--tlsverify", "--tlscacert", F("ca.pem"), "--tlscert", F("server.pem"), "--tlskey", F("server-key.pem"));
        string host = $"tcp://127.0.0.1:{port}";

        var ok = Docker("--tlsverify", "--tlscacert", F("ca.pem"), "--tlscert", F("client.pem"), "--tlskey", F("client-key.pem"), "-H", host,
            "version", "--format", "{{.Server.Version}}");
        Assert.True(ok.Code == 0, ok.Stderr);
        Assert.Contains("berth", ok.Stdout);
        // the hijack path (attach/exec use it) and plain requests work over TLS too
        var info = Docker("--tlsverify", "--tlscacert", F("ca.pem"), "--tlscert", F("client.pem"), "--tlskey", F("client-key.pem"), "-H", host, "ps", "-a");
        Assert.True(info.Code == 0, info.Stderr);

        var noCert = Docker("--tlsverify", "--tlscacert", F("ca.pem"), "-H", host, "version", "--format", "{{.Server.Version}}");
        Assert.NotEqual(0, noCert.Code);
        Assert.DoesNotContain("berth", noCert.Stdout);
        var stranger = Docker("--tlsverify", "--tlscacert", F("ca.pem"), "--tlscert", F("stranger.pem"), "--tlskey", F("stranger-key.pem"), "-H", host,
            "version", "--format", "{{.Server.Version}}");
        Assert.NotEqual(0, stranger.Code);
        Assert.DoesNotContain("berth", stranger.Stdout);
        var plain = Docker("-H", host, "version", "--format", "{{.Server.Version}}");
        Assert.NotEqual(0, plain.Code);
        Assert.DoesNotContain("berth", plain.Stdout);
    }

    [Fact]
    public void TcpWithoutTlsIsRefusedAtStartUnlessExplicitlyAllowed()
    {
        if (!Available) return;
        int port = FreePort();
        using var p = Process.Start(Berthd("-H", $"tcp://127.0.0.1:{port}"))!;
        string err = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(60000));
        Assert.Equal(1, p.ExitCode);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains($"refusing to serve tcp://127.0.0.1:{port} without TLS", err);

        using var q = Process.Start(Berthd("-H", $"tcp://127.0.0.1:{port}", "--tlsverify", "--tlscert", "/nonexistent.pem", "--tlskey", "/nonexistent-key.pem"))!;
        string err2 = q.StandardError.ReadToEnd();
        Assert.True(q.WaitForExit(60000));
        Assert.Equal(1, q.ExitCode);
        Assert.Contains("--tlsverify needs --tlscacert", err2);

        StartDaemon(port, "--tls=false");
        var v = Docker("-H", $"tcp://127.0.0.1:{port}", "version", "--format", "{{.Server.Version}}");
        Assert.True(v.Code == 0, v.Stderr);
        Assert.Contains("berth", v.Stdout);
    }

    public void Dispose()
    {
        if (_daemon is { HasExited: false }) { _daemon.Kill(); _daemon.WaitForExit(10000); }
        _daemon?.Dispose();
        foreach (var line in File.ReadAllLines("/proc/self/mountinfo").Reverse())
        {
            var mp = line.Split(' ')[4];
            if (mp.StartsWith(_dir, StringComparison.Ordinal)) Berth.Linux.Interop.LibC.umount2(mp, 2);
        }
        try { Directory.Delete(_dir, true); } catch (Exception) { }
    }
}
