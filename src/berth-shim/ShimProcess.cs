using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Berth.Engine.Shim;
using Berth.Linux.Interop;

namespace Berth.Shim;

/// <summary>
/// A process the shim holds: the container's init or an exec'd process. Its output is pumped
/// to the log (init only) and to every attached client; it is reaped with waitpid (the shim is
/// the subreaper the process was reparented to when the runtime exited).
/// </summary>
public sealed class ShimProcess
{
    private readonly List<Task> _pumps = [];
    private readonly List<Subscriber> _subs = [];
    private readonly object _stdinLock = new();
    private readonly JsonFileLogWriter? _log;
    private bool _finished;
    /// <summary>Output of an exec'd process held until its client attaches (the process may be done by then).</summary>
    private List<byte[]>? _backlog;

    public string Name { get; }
    public bool Tty { get; }
    public int Pid { get; private set; }
    public Stream? Stdin { get; set; }
    public PtyStream? Pty { get; set; }
    public TaskCompletionSource<ExitResult> Exited { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public TaskCompletionSource<ExitResult> Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public ExitResult? Result => Finished.Task.IsCompleted ? Finished.Task.Result : null;

    public ShimProcess(string name, bool tty, JsonFileLogWriter? log) { Name = name; Tty = tty; _log = log; if (log is null) _backlog = []; }

    public void AddOutput(Stream s, byte kind)
    {
        var tcs = new TaskCompletionSource();
        var t = new Thread(() => Pump(s, kind)) { IsBackground = true, Name = $"pump-{Name}-{kind}" };
        _pumps.Add(tcs.Task);
        t.Start();
        void Pump(Stream src, byte k)
        {
            var buf = new byte[32 * 1024];
            try
            {
                while (true)
                {
                    int n;
                    try { n = src.Read(buf, 0, buf.Length); }
                    catch (IOException) { break; }
                    if (n <= 0) break;
                    Output(k, buf.AsSpan(0, n));
                }
            }
            finally { tcs.TrySetResult(); }
        }
    }

    /// <summary>Stops waiting for output of a process that never started.</summary>
    public void AbortPumps() { }

    private void Output(byte kind, ReadOnlySpan<byte> data)
    {
        _log?.Write(kind, data);
        byte[] frame = new byte[8 + data.Length];
        ShimProtocol.WriteHeader(frame, kind, data.Length);
        data.CopyTo(frame.AsSpan(8));
        lock (_subs)
        {
            if (_backlog is not null) { _backlog.Add(frame); return; }
            foreach (var s in _subs) s.Send(frame);
        }
    }

    public void Start(int pid)
    {
        Pid = pid;
        var t = new Thread(Reap) { IsBackground = true, Name = $"reap-{Name}" };
        t.Start();
    }

    private unsafe void Reap()
    {
        int status = 0;
        int rc;
        do { rc = LibC.waitpid(Pid, &status, 0); } while (rc < 0 && Errno.Last == Errno.EINTR);
        int code;
        if (rc < 0)
        {
            // Not our child (should not happen: we are the subreaper). Wait for it to vanish.
            while (LibC.kill(Pid, 0) == 0) Thread.Sleep(100);
            code = 255;
        }
        else if ((status & 0x7f) == 0) code = (status >> 8) & 0xff;
        else code = 128 + (status & 0x7f);
        long at = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
        // The process is gone; its output ends when every holder of the pipes has closed them.
        Task.WaitAll(_pumps.ToArray(), TimeSpan.FromSeconds(3));
        Exited.TrySetResult(new ExitResult(code, false, at));
    }

    /// <summary>Tells every attached client and waiter that the process is gone (after the log has it all).</summary>
    public void Finish(ExitResult r)
    {
        _log?.Flush();
        byte[] payload = Encoding.ASCII.GetBytes($"{r.Code} {(r.Oom ? 1 : 0)}");
        byte[] frame = new byte[8 + payload.Length];
        ShimProtocol.WriteHeader(frame, ShimProtocol.Exit, payload.Length);
        payload.CopyTo(frame, 8);
        lock (_subs)
        {
            _finished = true;
            if (_backlog is not null) { _backlog.Add(frame); }
            foreach (var s in _subs) { s.Send(frame); s.Complete(); }
        }
        CloseStdin();
        Pty?.Dispose();
        Finished.TrySetResult(r);
    }

    public void DrainSubscribers(TimeSpan timeout)
    {
        Task[] all;
        lock (_subs) all = _subs.Select(s => s.Done).ToArray();
        Task.WaitAll(all, timeout);
    }

    public void Attach(Socket c, NetworkStream stream, bool withStdin, bool sayOk = true)
    {
        var sub = new Subscriber(c);
        if (sayOk) sub.Send(Encoding.ASCII.GetBytes(ShimProtocol.Ok + "\n"));
        lock (_subs)
        {
            if (_backlog is not null)
            {
                foreach (var f in _backlog) sub.Send(f);
                _backlog = null;
                if (_finished) { sub.Complete(); return; }
                _subs.Add(sub);
                _ = Task.Run(() => ReadClient(stream, sub, withStdin));
                return;
            }
            if (_finished)
            {
                var r = Finished.Task.Result;
                byte[] payload = Encoding.ASCII.GetBytes($"{r.Code} {(r.Oom ? 1 : 0)}");
                byte[] frame = new byte[8 + payload.Length];
                ShimProtocol.WriteHeader(frame, ShimProtocol.Exit, payload.Length);
                payload.CopyTo(frame, 8);
                sub.Send(frame);
                sub.Complete();
                return;
            }
            _subs.Add(sub);
        }
        _ = Task.Run(() => ReadClient(stream, sub, withStdin));
    }

    private async Task ReadClient(NetworkStream stream, Subscriber sub, bool withStdin)
    {
        var header = new byte[8];
        try
        {
            while (true)
            {
                await stream.ReadExactlyAsync(header);
                int len = ShimProtocol.ReadLength(header);
                var data = new byte[len];
                if (len > 0) await stream.ReadExactlyAsync(data);
                if (!withStdin) continue;
                if (header[0] == ShimProtocol.Stdin) WriteStdin(data);
                else if (header[0] == ShimProtocol.CloseStdin) CloseStdin();
            }
        }
        catch (Exception) { /* client half-closed or gone: output keeps flowing until exit */ }
    }

    private void WriteStdin(byte[] data)
    {
        lock (_stdinLock)
        {
            try { Stdin?.Write(data); Stdin?.Flush(); }
            catch (IOException) { }
        }
    }

    public void CloseStdin()
    {
        lock (_stdinLock)
        {
            if (Stdin is null) return;
            if (Tty) return; // the pty stays; the process sees EOF only by its own terminal rules
            try { Stdin.Dispose(); } catch (IOException) { }
            Stdin = null;
        }
    }

    public string? Resize(ushort h, ushort w)
    {
        if (Pty is null) return "the process has no terminal";
        return Pty.Resize(h, w);
    }

    /// <summary>An attached client: frames are queued and written in order by one writer.</summary>
    private sealed class Subscriber
    {
        private readonly Socket _s;
        private readonly Channel<byte[]> _q = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
        public Task Done { get; }

        public Subscriber(Socket s)
        {
            _s = s;
            Done = Task.Run(Writer);
        }

        public void Send(byte[] frame) => _q.Writer.TryWrite(frame);
        public void Complete() => _q.Writer.TryComplete();

        private async Task Writer()
        {
            try
            {
                await foreach (var f in _q.Reader.ReadAllAsync()) await _s.SendAsync(f, SocketFlags.None);
                try { _s.Shutdown(SocketShutdown.Send); } catch (SocketException) { }
            }
            catch (Exception) { /* the client went away */ }
            finally
            {
                await Task.Delay(50);
                _s.Dispose();
            }
        }
    }
}

/// <summary>The master side of a pty as a stream; EIO (no slave left) reads as end of file.</summary>
public sealed unsafe class PtyStream : Stream
{
    private int _fd;
    public PtyStream(int fd) { _fd = fd; }
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count)
    {
        while (true)
        {
            int fd = _fd;
            if (fd < 0) return 0;
            nint n;
            fixed (byte* p = &buffer[offset]) n = LibC.read(fd, p, (nuint)count);
            if (n >= 0) return (int)n;
            int e = Errno.Last;
            if (e == Errno.EINTR) continue;
            return 0; // EIO: the slave side is closed
        }
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        if (_fd < 0) throw new IOException("terminal closed");
        Berth.Linux.Io.FdIo.WriteAll(_fd, buffer.AsSpan(offset, count));
    }

    public string? Resize(ushort h, ushort w)
    {
        ushort* ws = stackalloc ushort[4];
        ws[0] = h; ws[1] = w; ws[2] = 0; ws[3] = 0;
        return LibC.ioctl(_fd, 0x5414 /* TIOCSWINSZ */, ws) < 0 ? $"resize: errno {Errno.Last}" : null;
    }

    protected override void Dispose(bool disposing)
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0) LibC.close(fd);
        base.Dispose(disposing);
    }
}
