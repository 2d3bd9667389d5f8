// The cgroup tests exercise the file helpers and parsers directly.
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("Berth.Linux.Tests")]
