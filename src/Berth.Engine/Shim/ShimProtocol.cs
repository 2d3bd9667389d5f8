// Shared by berth-shim and the engine's shim client (linked into both): the wire protocol on
// /run/berth/shims/<id>.sock. Every connection starts with one request line (ASCII words,
// space separated, '\n'). Some requests answer one line; ATTACH and EXEC then turn the connection
// into a stream of frames: an 8-byte header [kind, 0, 0, 0, length (big-endian u32)] + payload,
// the same header docker uses for its multiplexed streams.
namespace Berth.Engine.Shim;

public static class ShimProtocol
{
    /// <summary>Client to shim: bytes for the process's stdin.</summary>
    public const byte Stdin = 0;
    /// <summary>Shim to client: output of the process.</summary>
    public const byte Stdout = 1, Stderr = 2;
    /// <summary>Shim to client: the process exited; payload is "code oom" (ASCII). Last frame.</summary>
    public const byte Exit = 3;
    /// <summary>Client to shim: close the process's stdin.</summary>
    public const byte CloseStdin = 4;

    // Requests:
    //   STATE                    -> "<created|running|stopped> <pid> <exitCode>"
    //   WAIT                     -> "EXIT <code> <oom 0|1> <exitedAt unix ns>" once the init has exited
    //   WAIT cleanup             -> the same, told before the shim removes the runtime state and the
    //                               rootfs mount; "... cleanup" at the end: that is now the client's job
    //   ATTACH <stdin 0|1>       -> "OK" once subscribed, then frames (output of the init; stdin frames accepted when 1)
    //   EXEC <execId> <tty 0|1> <stdin 0|1> <process.json path>
    //                            -> "OK <pid>" or "ERR <message>", then frames of that process
    //   RESIZE <h> <w> [execId]  -> "OK" or "ERR <message>"
    //   EXECSTATE <execId>       -> "<running|exited|unknown> <pid> <exitCode>"
    public const string Ok = "OK";
    public const string Err = "ERR";

    public static void WriteHeader(Span<byte> header, byte kind, int length)
    {
        header[0] = kind; header[1] = 0; header[2] = 0; header[3] = 0;
        header[4] = (byte)(length >> 24); header[5] = (byte)(length >> 16); header[6] = (byte)(length >> 8); header[7] = (byte)length;
    }

    public static int ReadLength(ReadOnlySpan<byte> header) => (header[4] << 24) | (header[5] << 16) | (header[6] << 8) | header[7];
}
