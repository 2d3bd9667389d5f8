using System.Text;
using System.Text.Json;
using Berth.Init;

// berth-init: what `docker run --init` puts in front of the command (docker's docker-init).
//   berth-init [--] CMD [ARG...]   PID 1 of the container: spawns CMD, forwards every signal it
//                                  gets to CMD, reaps every orphan, exits with CMD's status
//                                  (128+N when a signal N ended it).
//   berth-init loopback-hook       an OCI createRuntime hook: reads the container state from
//                                  stdin and brings `lo` up in the container's network namespace.
if (args is ["loopback-hook"]) return LoopbackHook.Run(Console.OpenStandardInput());
var argv = args is ["--", ..] ? args[1..] : args;
if (argv.Length == 0)
{
    Console.Error.WriteLine("berth-init: usage: berth-init [--] COMMAND [ARG...]");
    return 2;
}
return InitProcess.Run(argv);

namespace Berth.Init
{
    internal static class LoopbackHook
    {
        public static unsafe int Run(Stream stdin)
        {
            int pid = 0;
            try
            {
                using var doc = JsonDocument.Parse(stdin);
                if (doc.RootElement.TryGetProperty("pid", out var p)) pid = p.GetInt32();
            }
            catch (JsonException e) { Console.Error.WriteLine($"berth-init loopback-hook: bad state on stdin: {e.Message}"); return 1; }
            if (pid <= 0) { Console.Error.WriteLine("berth-init loopback-hook: no pid in the state"); return 1; }
            // setns(CLONE_NEWNET) changes only this thread's namespace; the socket below is made on
            // the same thread, so it lives in the container's namespace.
            int ns = Native.open($"/proc/{pid}/ns/net", Native.O_RDONLY | Native.O_CLOEXEC);
            if (ns < 0 || Native.setns(ns, Native.CLONE_NEWNET) != 0) return Fail("join the network namespace of " + pid);
            Native.close(ns);
            int s = Native.socket(Native.AF_INET, Native.SOCK_DGRAM | Native.SOCK_CLOEXEC, 0);
            if (s < 0) return Fail("socket");
            byte* ifr = stackalloc byte[40];
            new Span<byte>(ifr, 40).Clear();
            "lo"u8.CopyTo(new Span<byte>(ifr, 16));
            if (Native.ioctl(s, Native.SIOCGIFFLAGS, ifr) != 0) return Fail("SIOCGIFFLAGS lo");
            *(short*)(ifr + 16) |= Native.IFF_UP;
            if (Native.ioctl(s, Native.SIOCSIFFLAGS, ifr) != 0) return Fail("SIOCSIFFLAGS lo");
            Native.close(s);
            return 0;
        }

        private static int Fail(string what)
        {
            Console.Error.WriteLine($"berth-init loopback-hook: {what}: {Native.Error(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}");
            return 1;
        }
    }
}
