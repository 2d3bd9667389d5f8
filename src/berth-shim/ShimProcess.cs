using System.Text;
using Berth.Engine.Shim;
using Berth.Linux.Interop;

namespace Berth.Shim;

public readonly record struct ExitResult(int Code, bool Oom, long AtUnixNs);

/// <summary>
/// A process the shim holds: the container's init or an exec'd process. One thread pumps its
/// output (both pipes, or the pty, through poll) to the log (init only) and to every attached
/// client; stdin frames from clients go to its stdin pipe or pty.
/// </summary>
public sealed unsafe class ShimProcess
{
    private readonly List<Subscriber> _subs = [];
    private readonly List<int> _waiters = [];
    /// <summary>WAIT cleanup connections (berthd's monitor): the first one still there takes the cleanup over.</summary>
    private readonly List<int> _cleanupTakers = [];
    private readonly object _stdinLock = new();
    private readonly JsonFileLogWriter? _log;
    private readonly ExitBox _pumped = new();
    private int[] _outFds = [];
    private byte[] _outKinds = [];
    private ExitResult? _result;

    public string Name { get; }
    public bool Tty { get; }
    public int Pid { get; set; }
    /// <summary>The write end of the stdin pipe, or the pty master; -1 once closed.</summary>
    public int StdinFd { get; set; } = -1;
    public int PtyFd { get; set; } = -1;

    public ShimProcess(string name, bool tty, JsonFileLogWriter? log) { Name = name; Tty = tty; _log = log; }

    public ExitResult? Result { get { lock (_subs) return _result; } }

    public void SetOutputs(int[] fds, byte[] kinds) { _outFds = fds; _outKinds = kinds; }

    /// <summary>Closes outputs that will never be pumped (a start that failed).</summary>
    public void CloseOutputs()
    {
        foreach (int fd in _outFds) if (fd != PtyFd) LibC.close(fd);
        _outFds = [];
    }

    public void StartPump()
    {
        if (_outFds.Length == 0) { _pumped.Set(0); return; }
        new Thread(Pump) { IsBackground = true, Name = "pump-" + Name }.Start();
    }

    private void Pump()
    {
        var buf = new byte[32 * 1024];
        int n = _outFds.Length, open = n;
        PollFd* pfds = stackalloc PollFd[n];
        for (int i = 0; i < n; i++) pfds[i] = new PollFd { Fd = _outFds[i], Events = Native.POLLIN };
        while (open > 0)
        {
            if (LibC.poll(pfds, (nuint)n, -1) < 0)
            {
                if (Errno.Last == Errno.EINTR) continue;
                break;
            }
            for (int i = 0; i < n; i++)
            {
                if (pfds[i].Fd < 0 || pfds[i].Revents == 0) continue;
                int r = Native.Read(pfds[i].Fd, buf);
                if (r > 0) { Output(_outKinds[i], buf.AsSpan(0, r)); continue; }
                // end of output (a pty reads EIO once its slave is closed)
                if (pfds[i].Fd != PtyFd) LibC.close(pfds[i].Fd);
                pfds[i].Fd = -1;
                open--;
            }
        }
        _pumped.Set(0);
    }

    /// <summary>Waits until the output has ended (every holder of the pipes closed them), at most <paramref name="ms"/>.</summary>
    public void WaitPumps(int ms) => _pumped.Wait(ms);

    private void Output(byte kind, ReadOnlySpan<byte> data)
    {
        _log?.Write(kind, data);
        lock (_subs)
        {
            if (_subs.Count == 0) return;
            byte[] frame = new byte[8 + data.Length];
            ShimProtocol.WriteHeader(frame, kind, data.Length);
            data.CopyTo(frame.AsSpan(8));
            foreach (var s in _subs) s.Send(frame);
        }
    }

    private static byte[] ExitFrame(ExitResult r)
    {
        byte[] payload = Encoding.ASCII.GetBytes($"{r.Code} {(r.Oom ? 1 : 0)}");
        byte[] frame = new byte[8 + payload.Length];
        ShimProtocol.WriteHeader(frame, ShimProtocol.Exit, payload.Length);
        payload.CopyTo(frame, 8);
        return frame;
    }

    /// <summary>Tells every attached client and waiter that the process is gone (after the log has it all).</summary>
    public void Finish(ExitResult r)
    {
        _log?.Flush();
        byte[] frame = ExitFrame(r);
        List<int> waiters;
        lock (_subs)
        {
            _result = r;
            foreach (var s in _subs) { s.Send(frame); s.Complete(); }
            waiters = [.. _waiters];
            _waiters.Clear();
        }
        foreach (int w in waiters) ReplyExit(w, r);
        CloseStdin(force: true);
        int pty = PtyFd;
        PtyFd = -1;
        if (pty >= 0) LibC.close(pty);
    }

    private static void ReplyExit(int fd, ExitResult r)
    {
        Native.SendLine(fd, $"EXIT {r.Code} {(r.Oom ? 1 : 0)} {r.AtUnixNs}");
        LibC.close(fd);
    }

    /// <summary>
    /// WAIT cleanup: like WAIT, but the exit is told to this waiter before the runtime state and
    /// the rootfs mount are removed, and removing them becomes its job (berthd does it in-process,
    /// ~1 ms against ~8 ms for a runtime process). Once the process has exited (and so was cleaned
    /// up here), it is an ordinary WAIT.
    /// </summary>
    public void AddCleanupTaker(int fd)
    {
        lock (_subs)
        {
            if (_result is null) { _cleanupTakers.Add(fd); return; }
        }
        AddWaiter(fd);
    }

    /// <summary>Offers the cleanup to the takers in turn; true once one has it (the send reached a live peer).</summary>
    public bool HandOverCleanup(ExitResult r)
    {
        List<int> takers;
        lock (_subs) { takers = [.. _cleanupTakers]; _cleanupTakers.Clear(); }
        bool taken = false;
        foreach (int fd in takers)
        {
            if (!taken) taken = Native.SendLine(fd, $"EXIT {r.Code} {(r.Oom ? 1 : 0)} {r.AtUnixNs} cleanup");
            LibC.close(fd);
        }
        return taken;
    }

    /// <summary>WAIT: answers once the process has exited (at once if it has); holds no thread meanwhile.</summary>
    public void AddWaiter(int fd)
    {
        ExitResult? r;
        lock (_subs)
        {
            r = _result;
            if (r is null) { _waiters.Add(fd); return; }
        }
        ReplyExit(fd, r.Value);
    }

    public void DrainSubscribers(int ms)
    {
        Subscriber[] all;
        lock (_subs) all = [.. _subs];
        long until = Environment.TickCount64 + ms;
        foreach (var s in all) s.Done.Wait((int)Math.Max(0, until - Environment.TickCount64));
    }

    /// <summary>
    /// Subscribes a client to the output. With <paramref name="withStdin"/> the client's frames are
    /// then read into stdin until it goes away: on this thread, or on a new one with <paramref name="readOnNewThread"/>.
    /// </summary>
    public void Attach(int fd, bool withStdin, bool sayOk = true, bool readOnNewThread = false)
    {
        Subscriber sub;
        lock (_subs)
        {
            var done = _result;
            sub = new Subscriber(fd, withReader: withStdin && done is null);
            if (sayOk) sub.Send(Encoding.ASCII.GetBytes(ShimProtocol.Ok + "\n"));
            if (done is { } r) { sub.Send(ExitFrame(r)); sub.Complete(); }
            else _subs.Add(sub);
        }
        sub.Start();
        if (!sub.HasReader) return;
        if (readOnNewThread) new Thread(() => ReadClient(sub)) { IsBackground = true, Name = "stdin" }.Start();
        else ReadClient(sub);
    }

    private void ReadClient(Subscriber sub)
    {
        Span<byte> header = stackalloc byte[8];
        byte[] data = new byte[4096];
        try
        {
            while (Native.ReadExactly(sub.Fd, header))
            {
                int len = ShimProtocol.ReadLength(header);
                if (len > data.Length) data = new byte[len];
                if (len > 0 && !Native.ReadExactly(sub.Fd, data.AsSpan(0, len))) break;
                if (header[0] == ShimProtocol.Stdin) WriteStdin(data.AsSpan(0, len));
                else if (header[0] == ShimProtocol.CloseStdin) CloseStdin();
            }
        }
        finally { sub.ReaderDone(); }
    }

    private void WriteStdin(ReadOnlySpan<byte> data)
    {
        lock (_stdinLock)
        {
            if (StdinFd >= 0) Native.WriteAll(StdinFd, data, socket: false);
        }
    }

    /// <summary>EOF on stdin. A pty stays open (the process sees EOF only by its terminal's rules) unless the process is gone.</summary>
    public void CloseStdin(bool force = false)
    {
        lock (_stdinLock)
        {
            if (StdinFd < 0 || Tty && !force) return;
            if (!Tty) LibC.close(StdinFd);
            StdinFd = -1;
        }
    }

    public string? Resize(ushort h, ushort w)
    {
        int fd = PtyFd;
        if (fd < 0) return "the process has no terminal";
        ushort* ws = stackalloc ushort[4];
        ws[0] = h; ws[1] = w; ws[2] = 0; ws[3] = 0;
        return LibC.ioctl(fd, 0x5414 /* TIOCSWINSZ */, ws) < 0 ? $"resize: errno {Errno.Last}" : null;
    }

    /// <summary>
    /// An attached client. Frames are queued and written in order by a thread of its own, so a
    /// slow client never holds up the log. The descriptor is closed by whichever of the writer and
    /// the stdin reader finishes last.
    /// </summary>
    private sealed class Subscriber(int fd, bool withReader)
    {
        private readonly Queue<byte[]> _q = new();
        private bool _complete, _dead;
        private int _refs = withReader ? 2 : 1;
        public bool HasReader { get; } = withReader;
        private readonly ExitBox _readerDone = new();
        public int Fd { get; } = fd;
        public ExitBox Done { get; } = new();

        public void Send(byte[] frame)
        {
            lock (_q) { if (!_dead) _q.Enqueue(frame); Monitor.Pulse(_q); }
        }

        public void Complete()
        {
            lock (_q) { _complete = true; Monitor.Pulse(_q); }
        }

        public void Start() => new Thread(Writer) { IsBackground = true, Name = "attach" }.Start();

        public void ReaderDone()
        {
            _readerDone.Set(0);
            Release();
        }

        private void Writer()
        {
            while (true)
            {
                byte[] f;
                lock (_q)
                {
                    while (_q.Count == 0 && !_complete) Monitor.Wait(_q);
                    if (_q.Count == 0) break;
                    f = _q.Dequeue();
                }
                if (!Native.WriteAll(Fd, f, socket: true))
                {
                    lock (_q) { _dead = true; _q.Clear(); }
                    break;
                }
            }
            Native.shutdown(Fd, Native.SHUT_WR);
            // The client closes its end once it has read everything; a reader still blocked on a
            // client that never does is released after a second.
            if (HasReader && _readerDone.Wait(1000) is null) Native.shutdown(Fd, Native.SHUT_RDWR);
            Done.Set(0);
            Release();
        }

        private void Release()
        {
            if (Interlocked.Decrement(ref _refs) == 0) LibC.close(Fd);
        }
    }
}
