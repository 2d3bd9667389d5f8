using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Berth.Engine;
using Berth.Engine.Api;
using Berth.Engine.Containers;
using Berth.Engine.Events;
using Berth.Images.Service;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Berth.Daemon;

// berthd: the Docker Engine API on a unix socket (default /run/berth/berth.sock, mode 0660, group berth),
// and on TCP only when asked (-H tcp://HOST:PORT), then with TLS (--tlsverify: client certificates too).
var o = new EngineOptions();
var tcpHosts = new List<string>();
var tls = new TlsSettings();
bool unixGiven = false;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    string a = args[i];
    string? inline = null;
    if (a.Contains('=')) { inline = a[(a.IndexOf('=') + 1)..]; a = a[..a.IndexOf('=')]; }
    string V() => inline ?? Next();
    bool B() => inline is null || DockerApi.Truthy(inline);
    switch (a)
    {
        case "--data-root": o.DataRoot = V(); break;
        case "--exec-root": o.ExecRoot = V(); break;
        case "-H" or "--host":
            var h = V();
            if (h.StartsWith("tcp://", StringComparison.Ordinal)) tcpHosts.Add(h);
            else if (!unixGiven) { o.Host = h.StartsWith("unix://", StringComparison.Ordinal) ? h[7..] : h; unixGiven = true; }
            else { Console.Error.WriteLine($"berthd: only one unix socket is served ({o.Host}); {h} refused"); return 2; }
            break;
        case "--tls": tls.Tls = B(); tls.TlsExplicit = true; break;
        case "--tlsverify": tls.Verify = B(); tls.VerifyExplicit = true; break;
        case "--tlscacert": tls.CaCert = V(); break;
        case "--tlscert": tls.Cert = V(); break;
        case "--tlskey": tls.Key = V(); break;
        case "--init-path": o.InitPath = V(); break;
        case "--host-gateway-ip": o.HostGatewayIp = V(); break;
        case "--runtime": o.RuntimePath = V(); break;
        case "--shim": o.ShimPath = V(); break;
        case "--cgroup-parent": o.CgroupParent = V(); break;
        case "--storage-driver" or "--snapshotter": o.Snapshotter = V(); break;
        case "-h" or "--help":
            Console.WriteLine("usage: berthd [--data-root DIR] [--exec-root DIR] [-H unix:///PATH] [-H tcp://HOST:PORT --tlsverify --tlscacert F --tlscert F --tlskey F] [--runtime PATH] [--shim PATH] [--init-path PATH] [--cgroup-parent PATH] [--host-gateway-ip IP]");
            return 0;
        default: Console.Error.WriteLine($"berthd: unknown option {args[i]}"); return 2;
    }
}
if (o.RuntimePath == "") o.RuntimePath = EngineOptions.FindHelper("berth-runtime");
if (o.ShimPath == "") o.ShimPath = EngineOptions.FindHelper("berth-shim");
if (o.InitPath == "") o.InitPath = EngineOptions.FindHelper("berth-init");
if (!File.Exists(o.InitPath)) o.InitPath = ""; // --init and the loopback hook need it; without it they are skipped
// TCP: refused without TLS unless the user said so explicitly (docker 27's rule), and the TLS files must load.
TlsListener? tcpTls = null;
if (tcpHosts.Count > 0)
{
    if (tls.Problem(tcpHosts[0]) is { } problem) { Console.Error.WriteLine($"berthd: {problem}"); return 1; }
    try { tcpTls = tls.Enabled ? TlsListener.Load(tls) : null; }
    catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"berthd: cannot load the TLS files: {e.Message}");
        return 1;
    }
}
Directory.CreateDirectory(o.DataRoot);
Directory.CreateDirectory(o.ExecRoot);
Directory.CreateDirectory(Path.GetDirectoryName(o.Socket)!);

var images = new ImageService(new ImageServiceOptions { Root = o.ImagesRoot, Snapshotter = o.Snapshotter });
var events = new EventBus();
var containers = new ContainerService(o, images, events);
containers.Restore();

var builder = WebApplication.CreateSlimBuilder();
if (tcpTls is not null) builder.WebHost.UseKestrelHttpsConfiguration(); // the slim builder leaves HTTPS out
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var hijack = new HijackMiddleware(containers);
if (File.Exists(o.Socket)) File.Delete(o.Socket);
builder.WebHost.ConfigureKestrel(k =>
{
    k.Limits.MaxRequestBodySize = null;
    k.ListenUnixSocket(o.Socket, l => l.Use(next => ctx => hijack.InvokeAsync(ctx, next)));
    foreach (var t in tcpHosts)
    {
        var ep = TlsSettings.ParseTcp(t, tcpTls is not null);
        k.Listen(ep, l =>
        {
            l.Protocols = HttpProtocols.Http1; // hijacked attach/exec need HTTP/1.1
            tcpTls?.Apply(l);                  // TLS first: the hijack middleware sees the plaintext
            l.Use(next => ctx => hijack.InvokeAsync(ctx, next));
        });
    }
});
var app = builder.Build();
DockerApi.Map(app, containers);
app.Lifetime.ApplicationStarted.Register(() =>
{
    File.SetUnixFileMode(o.Socket, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
    int gid = GroupId("berth");
    if (gid >= 0) Berth.Linux.Interop.LibC.chown(o.Socket, 0, (uint)gid);
    Console.Error.WriteLine($"berthd: API listening on unix://{o.Socket}");
    foreach (var t in tcpHosts) Console.Error.WriteLine($"berthd: API listening on {t}{(tcpTls is null ? " (no TLS)" : tcpTls.VerifiesClients ? " (TLS, client certificates verified)" : " (TLS)")}");
});
app.Run();
return 0;

static int GroupId(string name)
{
    if (!File.Exists("/etc/group")) return -1;
    foreach (var l in File.ReadLines("/etc/group"))
    {
        var f = l.Split(':');
        if (f.Length > 2 && f[0] == name && int.TryParse(f[2], out var g)) return g;
    }
    return -1;
}
