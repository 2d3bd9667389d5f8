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

// berthd: the Docker Engine API on a unix socket (default /run/berth/berth.sock, mode 0660, group berth).
var o = new EngineOptions();
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    string a = args[i];
    string? inline = null;
    if (a.Contains('=')) { inline = a[(a.IndexOf('=') + 1)..]; a = a[..a.IndexOf('=')]; }
    string V() => inline ?? Next();
    switch (a)
    {
        case "--data-root": o.DataRoot = V(); break;
        case "--exec-root": o.ExecRoot = V(); break;
        case "-H" or "--host":
            var h = V();
            o.Host = h.StartsWith("unix://", StringComparison.Ordinal) ? h[7..] : h;
            break;
        case "--runtime": o.RuntimePath = V(); break;
        case "--shim": o.ShimPath = V(); break;
        case "--cgroup-parent": o.CgroupParent = V(); break;
        case "--storage-driver" or "--snapshotter": o.Snapshotter = V(); break;
        case "-h" or "--help":
            Console.WriteLine("usage: berthd [--data-root DIR] [--exec-root DIR] [-H unix:///PATH] [--runtime PATH] [--shim PATH] [--cgroup-parent PATH]");
            return 0;
        default: Console.Error.WriteLine($"berthd: unknown option {args[i]}"); return 2;
    }
}
if (o.RuntimePath == "") o.RuntimePath = EngineOptions.FindHelper("berth-runtime");
if (o.ShimPath == "") o.ShimPath = EngineOptions.FindHelper("berth-shim");
Directory.CreateDirectory(o.DataRoot);
Directory.CreateDirectory(o.ExecRoot);
Directory.CreateDirectory(Path.GetDirectoryName(o.Socket)!);

var images = new ImageService(new ImageServiceOptions { Root = o.ImagesRoot, Snapshotter = o.Snapshotter });
var events = new EventBus();
var containers = new ContainerService(o, images, events);
containers.Restore();

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var hijack = new HijackMiddleware(containers);
if (File.Exists(o.Socket)) File.Delete(o.Socket);
builder.WebHost.ConfigureKestrel(k =>
{
    k.Limits.MaxRequestBodySize = null;
    k.ListenUnixSocket(o.Socket, l => l.Use(next => ctx => hijack.InvokeAsync(ctx, next)));
});
var app = builder.Build();
DockerApi.Map(app, containers);
app.Lifetime.ApplicationStarted.Register(() =>
{
    File.SetUnixFileMode(o.Socket, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
    int gid = GroupId("berth");
    if (gid >= 0) Berth.Linux.Interop.LibC.chown(o.Socket, 0, (uint)gid);
    Console.Error.WriteLine($"berthd: API listening on unix://{o.Socket}");
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
