using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Berth.Engine.Containers;
using Microsoft.AspNetCore.Connections;

namespace Berth.Engine.Api;

/// <summary>
/// Docker's hijacked endpoints (attach, exec start) at the connection level. Kestrel refuses to
/// upgrade a request with a body (exec start sends JSON) and tears an upgraded connection down
/// when the client half-closes (the CLI does so right after the 101 when it has no stdin), so
/// these requests are read and answered here on the raw transport; every other request goes on
/// to Kestrel's HTTP layer untouched.
/// </summary>
public sealed class HijackMiddleware(ContainerService containers)
{
    public sealed record RawRequest(string Method, string Path, Dictionary<string, string> Query, Dictionary<string, string> Headers, byte[] Body);

    public async Task InvokeAsync(ConnectionContext ctx, ConnectionDelegate next)
    {
        var input = ctx.Transport.Input;
        while (true)
        {
            var r = await input.ReadAsync();
            var buf = r.Buffer;
            var pos = Find(buf, "\r\n\r\n"u8);
            if (pos is null)
            {
                if (r.IsCompleted || buf.Length > 64 * 1024) { input.AdvanceTo(buf.Start); break; }
                input.AdvanceTo(buf.Start, buf.End);
                continue;
            }
            var headEnd = buf.GetPosition(4, pos.Value);
            string head = Encoding.ASCII.GetString(buf.Slice(0, headEnd).ToArray());
            var req = ParseHead(head);
            if (req is null || !IsHijack(req)) { input.AdvanceTo(buf.Start); break; }
            input.AdvanceTo(headEnd);
            int len = req.Headers.TryGetValue("content-length", out var cl) && int.TryParse(cl, out var n) ? n : 0;
            byte[] body = [];
            if (len > 0)
            {
                while (true)
                {
                    var rb = await input.ReadAsync();
                    if (rb.Buffer.Length >= len || rb.IsCompleted)
                    {
                        var slice = rb.Buffer.Slice(0, Math.Min(len, rb.Buffer.Length));
                        body = slice.ToArray();
                        input.AdvanceTo(slice.End);
                        break;
                    }
                    input.AdvanceTo(rb.Buffer.Start, rb.Buffer.End);
                }
            }
            await HandleAsync(ctx, req with { Body = body });
            return;
        }
        await next(ctx);
    }

    private static SequencePosition? Find(ReadOnlySequence<byte> buf, ReadOnlySpan<byte> what)
    {
        var reader = new SequenceReader<byte>(buf);
        return reader.TryReadTo(out ReadOnlySequence<byte> _, what, advancePastDelimiter: false) ? reader.Position : null;
    }

    private static RawRequest? ParseHead(string head)
    {
        var lines = head.Split("\r\n");
        var first = lines[0].Split(' ');
        if (first.Length < 3) return null;
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var l in lines.Skip(1))
        {
            int i = l.IndexOf(':');
            if (i > 0) headers[l[..i].Trim().ToLowerInvariant()] = l[(i + 1)..].Trim();
        }
        string target = first[1];
        string path = target, qs = "";
        int q = target.IndexOf('?');
        if (q >= 0) { path = target[..q]; qs = target[(q + 1)..]; }
        var query = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var kv in qs.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = kv.Split('=', 2);
            query[Uri.UnescapeDataString(p[0].Replace('+', ' '))] = p.Length > 1 ? Uri.UnescapeDataString(p[1].Replace('+', ' ')) : "";
        }
        return new RawRequest(first[0], Uri.UnescapeDataString(path), query, headers, []);
    }

    private static bool IsHijack(RawRequest r) =>
        r.Method == "POST"
        && r.Headers.TryGetValue("upgrade", out var up) && up.Length > 0
        && r.Headers.TryGetValue("connection", out var conn) && conn.Contains("upgrade", StringComparison.OrdinalIgnoreCase)
        && (VersionedPath(r.Path).Path.EndsWith("/attach", StringComparison.Ordinal) || VersionedPath(r.Path).Path.EndsWith("/start", StringComparison.Ordinal) && VersionedPath(r.Path).Path.StartsWith("/exec/", StringComparison.Ordinal));

    internal static (string Path, string? Version) VersionedPath(string path)
    {
        var m = System.Text.RegularExpressions.Regex.Match(path, @"^/v(\d+\.\d+)(/.*)$");
        return m.Success ? (m.Groups[2].Value, m.Groups[1].Value) : (path, null);
    }

    private async Task HandleAsync(ConnectionContext ctx, RawRequest req)
    {
        var output = ctx.Transport.Output;
        var (path, version) = VersionedPath(req.Path);
        var client = new DuplexStream(ctx.Transport.Input.AsStream(), output.AsStream());
        bool upgraded = false;
        try
        {
            if (version is not null && DockerApi.VersionError(version) is { } verr) throw EngineException.BadRequest(verr);
            var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
            if (parts[0] == "containers" && parts.Length == 3)
            {
                var c = containers.Get(parts[1]);
                bool B(string k) => req.Query.TryGetValue(k, out var v) && DockerApi.Truthy(v);
                var so = new ContainerService.StreamOptions(c.R.Config.Tty, B("stdin") && c.R.Config.OpenStdin, B("stdout"), B("stderr"), c.R.Config.StdinOnce);
                await containers.AttachAsync(c, client, so, async () => { await WriteUpgrade(output, c.R.Config.Tty, version); upgraded = true; }, CancellationToken.None); // ConnectionClosed fires on a half-close
            }
            else
            {
                var e = containers.GetExec(parts[1]);
                var start = req.Body.Length > 0 ? JsonSerializer.Deserialize(req.Body, EngineJsonContext.Default.ExecStartRequest) ?? new() : new ExecStartRequest();
                var cfg = e.Config;
                var so = new ContainerService.StreamOptions(cfg.Tty, cfg.AttachStdin, cfg.AttachStdout, cfg.AttachStderr, true);
                if (start.Detach)
                {
                    var dshim = await containers.StartExecAsync(e, start);
                    await WriteSimple(output, 200, "", version);
                    _ = Task.Run(async () => containers.FinishExec(e, await ContainerService.PumpAsync(dshim, Stream.Null, so with { Stdin = false }, CancellationToken.None)));
                    return;
                }
                if (e.Started) throw EngineException.Conflict($"Error: Exec command {e.Id} has already run");
                // docker answers 101 first and reports a failed start inside the stream, then in the exec's ExitCode.
                await WriteUpgrade(output, cfg.Tty, version);
                upgraded = true;
                System.Net.Sockets.Socket shim;
                try { shim = await containers.StartExecAsync(e, start); }
                catch (EngineException ex)
                {
                    var msg = System.Text.Encoding.UTF8.GetBytes(ex.Message + "\r\n");
                    await client.WriteAsync(cfg.Tty ? msg : Berth.Engine.Shim.ShimClient.Frame(1, msg));
                    await client.FlushAsync();
                    return;
                }
                int code = await ContainerService.PumpAsync(shim, client, so, CancellationToken.None);
                containers.FinishExec(e, code);
            }
        }
        catch (Exception e) when (upgraded) { Console.Error.WriteLine($"berthd: {req.Path}: {e}"); }
        catch (EngineException e) { await WriteSimple(output, e.Status, e.Message, version); }
        catch (JsonException e) { await WriteSimple(output, 400, e.Message, version); }
        catch (Exception e) { await WriteSimple(output, 500, e.Message, version); }
        finally
        {
            await output.FlushAsync();
            await output.CompleteAsync();
        }
    }

    private static async Task WriteUpgrade(PipeWriter output, bool tty, string? version)
    {
        string ct = !tty && version is not null && double.TryParse(version, System.Globalization.CultureInfo.InvariantCulture, out var v) && v >= 1.42
            ? "application/vnd.docker.multiplexed-stream" : "application/vnd.docker.raw-stream";
        string head = $"HTTP/1.1 101 UPGRADED\r\nContent-Type: {ct}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n{DockerApi.CommonHeadersRaw()}\r\n";
        await output.WriteAsync(Encoding.ASCII.GetBytes(head));
        await output.FlushAsync();
    }

    private static async Task WriteSimple(PipeWriter output, int status, string message, string? version)
    {
        byte[] body = status is 200 or 204 || message == "" ? [] :
            JsonSerializer.SerializeToUtf8Bytes(new ErrorResponse { Message = message }, EngineJsonContext.Default.ErrorResponse);
        string reason = status switch { 200 => "OK", 400 => "Bad Request", 404 => "Not Found", 409 => "Conflict", _ => "Internal Server Error" };
        string head = $"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n{DockerApi.CommonHeadersRaw()}Connection: close\r\n\r\n";
        await output.WriteAsync(Encoding.ASCII.GetBytes(head));
        if (body.Length > 0) await output.WriteAsync(body);
    }

    /// <summary>Reads from the client's input, writes to its output.</summary>
    private sealed class DuplexStream(Stream input, Stream output) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => output.Flush();
        public override Task FlushAsync(CancellationToken ct) => output.FlushAsync(ct);
        public override int Read(byte[] buffer, int offset, int count) => input.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => input.ReadAsync(buffer, ct);
        public override void Write(byte[] buffer, int offset, int count) => output.Write(buffer, offset, count);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default) => output.WriteAsync(buffer, ct);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
