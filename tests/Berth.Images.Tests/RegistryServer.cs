using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Berth.Images.Tests;

/// <summary>
/// A real Debian docker-registry (distribution v2) on a free 127.0.0.1 port, with its own
/// storage and config in a temp dir; optional htpasswd basic auth or bearer-token auth.
/// Stopped (killed) on dispose, also when the test failed.
/// </summary>
public sealed class RegistryServer : IDisposable
{
    private Process _process = null!;
    private readonly TempDir _dir = new();
    public int Port { get; private set; }
    public string Host => $"127.0.0.1:{Port}";
    public string Storage => Path.Combine(_dir.Path, "storage");

    public sealed record TokenAuth(string Realm, string Service, string Issuer, string RootCertPem);

    public RegistryServer(string? htpasswd = null, TokenAuth? token = null)
    {
        if (!TestProcess.Exists("docker-registry"))
            throw new InvalidOperationException("docker-registry is not installed (apt-get install docker-registry; listed in .ci/packages.txt)");
        for (int attempt = 0; ; attempt++)
        {
            Port = FreePort();
            _process = Launch(htpasswd, token);
            try
            {
                WaitUntilUp();
                return;
            }
            catch (InvalidOperationException) when (attempt < 5)
            {
                // Exited at once: most likely another test took the port between FreePort and the bind.
                _process.Dispose();
            }
        }
    }

    private Process Launch(string? htpasswd, TokenAuth? token)
    {
        string auth = "";
        if (htpasswd is not null)
        {
            File.WriteAllText(Path.Combine(_dir.Path, "htpasswd"), htpasswd);
            auth = $"auth:\n  htpasswd:\n    realm: berth-test\n    path: {Path.Combine(_dir.Path, "htpasswd")}\n";
        }
        else if (token is not null)
        {
            File.WriteAllText(Path.Combine(_dir.Path, "token.pem"), token.RootCertPem);
            auth = $"auth:\n  token:\n    realm: {token.Realm}\n    service: {token.Service}\n    issuer: {token.Issuer}\n    rootcertbundle: {Path.Combine(_dir.Path, "token.pem")}\n";
        }
        string config = $"""
            version: 0.1
            log:
              level: error
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: {Storage}
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:{Port}
            {auth}
            """;
        string configPath = Path.Combine(_dir.Path, "config.yml");
        File.WriteAllText(configPath, config);
        var psi = new ProcessStartInfo("docker-registry") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("serve");
        psi.ArgumentList.Add(configPath);
        var process = Process.Start(psi)!;
        process.ErrorDataReceived += (_, _) => { };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return process;
    }

    private void WaitUntilUp()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var until = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < until)
        {
            if (_process.HasExited) throw new InvalidOperationException($"docker-registry exited with {_process.ExitCode}");
            try
            {
                var r = http.GetAsync($"http://{Host}/v2/").Result;
                if (r.StatusCode is HttpStatusCode.OK or HttpStatusCode.Unauthorized) return;
            }
            catch (AggregateException) { }
            Thread.Sleep(50);
        }
        throw new TimeoutException("docker-registry did not answer within 20 s");
    }

    /// <summary>An HttpListener on a free 127.0.0.1 port (tried again if another test took the port meanwhile).</summary>
    public static (HttpListener, int) StartListener()
    {
        for (int attempt = 0; ; attempt++)
        {
            int port = FreePort();
            var l = new HttpListener();
            l.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                l.Start();
                return (l, port);
            }
            catch (HttpListenerException) when (attempt < 10)
            {
                l.Close();
            }
        }
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
        _dir.Dispose();
    }
}
