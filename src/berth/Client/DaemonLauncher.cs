using System.Runtime.InteropServices;

namespace Berth.Cli.Client;

/// <summary>
/// Starts berthd when nothing answers on the default socket, so a new user needs no service set-up.
/// The daemon is spawned with posix_spawn (no fork of this managed process) in a session of its
/// own, stdin from /dev/null and its output appended to a log file, and outlives this command.
/// <para>Where: <c>BERTH_BERTHD</c>, else beside the berth binary, else the repository's build
/// output (src/berthd/bin/*/net10.0/berthd). With what: <c>-H unix://SOCKET</c>, <c>--data-root
/// $BERTH_DATA_ROOT</c> and <c>--exec-root $BERTH_EXEC_ROOT</c> when set, and the words of
/// <c>BERTH_BERTHD_ARGS</c>.</para>
/// </summary>
public static partial class DaemonLauncher
{
    private static int _pid;

    public static string LogPath { get; private set; } = "";

    /// <summary>True while the daemon we spawned has not exited.</summary>
    public static bool StillRunning => _pid > 0 && waitpid(_pid, out _, 1 /* WNOHANG */) == 0;

    public static string? FindBerthd()
    {
        string? explicitPath = Environment.GetEnvironmentVariable("BERTH_BERTHD");
        if (!string.IsNullOrEmpty(explicitPath)) return File.Exists(explicitPath) ? explicitPath : null;
        string here = Path.GetDirectoryName(Environment.ProcessPath ?? AppContext.BaseDirectory) ?? AppContext.BaseDirectory;
        string beside = Path.Combine(here, "berthd");
        if (File.Exists(beside)) return beside;
        for (var d = new DirectoryInfo(here); d is not null; d = d.Parent)
        {
            string bin = Path.Combine(d.FullName, "src", "berthd", "bin");
            if (!Directory.Exists(bin)) continue;
            var found = Directory.GetDirectories(bin)
                .Select(c => Path.Combine(c, "net10.0", "berthd"))
                .Where(File.Exists)
                .OrderByDescending(File.GetLastWriteTimeUtc)
                .FirstOrDefault();
            if (found is not null) return found;
        }
        return null;
    }

    public static void Start(DaemonAddress address)
    {
        string berthd = FindBerthd() ?? throw new DaemonUnreachableException(
            $"{DockerClient.NoDaemonMessage(address)} (no berthd to start: set BERTH_BERTHD or put berthd beside berth)");
        string? dataRoot = Environment.GetEnvironmentVariable("BERTH_DATA_ROOT");
        string? execRoot = Environment.GetEnvironmentVariable("BERTH_EXEC_ROOT");
        var argv = new List<string> { berthd, "-H", address.Url };
        if (!string.IsNullOrEmpty(dataRoot)) argv.AddRange(["--data-root", dataRoot]);
        if (!string.IsNullOrEmpty(execRoot)) argv.AddRange(["--exec-root", execRoot]);
        argv.AddRange((Environment.GetEnvironmentVariable("BERTH_BERTHD_ARGS") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries));

        LogPath = !string.IsNullOrEmpty(dataRoot) ? Path.Combine(dataRoot, "berthd.log")
            : Directory.Exists("/var/log") ? "/var/log/berthd.log" : "/var/lib/berth/berthd.log";
        Directory.CreateDirectory(Path.GetDirectoryName(LogPath)!);
        Directory.CreateDirectory(Path.GetDirectoryName(address.SocketPath)!);
        _pid = Spawn(argv, LogPath);
    }

    private static unsafe int Spawn(List<string> argv, string log)
    {
        // glibc's posix_spawn_file_actions_t is 80 bytes and posix_spawnattr_t 336: allocate more.
        byte* actions = stackalloc byte[512];
        byte* attr = stackalloc byte[1024];
        byte* sigset = stackalloc byte[256];
        Check(posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
        Check(posix_spawnattr_init(attr), "posix_spawnattr_init");
        var native = new List<nint>();
        try
        {
            Check(posix_spawn_file_actions_addopen(actions, 0, "/dev/null", 0 /* O_RDONLY */, 0), "addopen stdin");
            Check(posix_spawn_file_actions_addopen(actions, 1, log, 0x1 | 0x40 | 0x400 /* O_WRONLY|O_CREAT|O_APPEND */, 0x1a0 /* 0640 */), "addopen log");
            Check(posix_spawn_file_actions_adddup2(actions, 1, 2), "adddup2");
            // A session of its own (no terminal, no job-control signals from ours); default signal
            // dispositions and an empty mask, whatever this process had (SIGPIPE is ignored in .NET).
            sigemptyset(sigset);
            Check(posix_spawnattr_setsigmask(attr, sigset), "setsigmask");
            foreach (int sig in new[] { 1, 2, 3, 13, 15 }) sigaddset(sigset, sig);
            Check(posix_spawnattr_setsigdefault(attr, sigset), "setsigdefault");
            Check(posix_spawnattr_setflags(attr, 0x80 | 0x08 | 0x04 /* SETSID|SETSIGMASK|SETSIGDEF */), "setflags");

            nint Str(string s) { var p = Marshal.StringToCoTaskMemUTF8(s); native.Add(p); return p; }
            var args = new nint[argv.Count + 1];
            for (int i = 0; i < argv.Count; i++) args[i] = Str(argv[i]);
            var env = new List<nint>();
            foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
                env.Add(Str($"{e.Key}={e.Value}"));
            env.Add(0);
            var envArr = env.ToArray();
            int pid;
            fixed (nint* a = args)
            fixed (nint* en = envArr)
            {
                int rc = posix_spawn(&pid, argv[0], actions, attr, a, en);
                if (rc != 0) throw new DaemonUnreachableException($"cannot start {argv[0]}: {Marshal.GetPInvokeErrorMessage(rc)}");
            }
            return pid;
        }
        finally
        {
            posix_spawn_file_actions_destroy(actions);
            posix_spawnattr_destroy(attr);
            foreach (var p in native) Marshal.FreeCoTaskMem(p);
        }
    }

    private static void Check(int rc, string what)
    {
        if (rc != 0) throw new DaemonUnreachableException($"cannot start berthd: {what}: {Marshal.GetPInvokeErrorMessage(rc)}");
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int posix_spawn(int* pid, string path, byte* actions, byte* attr, nint* argv, nint* envp);
    [LibraryImport("libc")] private static unsafe partial int posix_spawn_file_actions_init(byte* a);
    [LibraryImport("libc")] private static unsafe partial int posix_spawn_file_actions_destroy(byte* a);
    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int posix_spawn_file_actions_addopen(byte* a, int fd, string path, int flags, int mode);
    [LibraryImport("libc")] private static unsafe partial int posix_spawn_file_actions_adddup2(byte* a, int fd, int newfd);
    [LibraryImport("libc")] private static unsafe partial int posix_spawnattr_init(byte* a);
    [LibraryImport("libc")] private static unsafe partial int posix_spawnattr_destroy(byte* a);
    [LibraryImport("libc")] private static unsafe partial int posix_spawnattr_setflags(byte* a, short flags);
    [LibraryImport("libc")] private static unsafe partial int posix_spawnattr_setsigmask(byte* a, byte* set);
    [LibraryImport("libc")] private static unsafe partial int posix_spawnattr_setsigdefault(byte* a, byte* set);
    [LibraryImport("libc")] private static unsafe partial int sigemptyset(byte* set);
    [LibraryImport("libc")] private static unsafe partial int sigaddset(byte* set, int sig);
    [LibraryImport("libc")] private static partial int waitpid(int pid, out int status, int options);
}
