using Berth.Linux;
using Berth.Linux.Fs;
using Berth.Linux.Interop;

namespace Berth.Linux.Tests.Fs;

/// <summary>Paths resolved and created inside a root: no symlink, absolute or "..", leads out.</summary>
public sealed class RootedPathTests : IDisposable
{
    private readonly string _top = Directory.CreateTempSubdirectory("berth-rooted-").FullName;
    private string Root => Path.Combine(_top, "root");
    private string Outside => Path.Combine(_top, "outside");

    public RootedPathTests()
    {
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(Outside);
    }

    public void Dispose() => Directory.Delete(_top, recursive: true);

    private string Resolved(int fd)
    {
        try { return new FileInfo(RootedPath.FdPath(fd)).LinkTarget!; }
        finally { LibC.close(fd); }
    }

    /// <summary>
    /// A lookup through "../" with RESOLVE_IN_ROOT gets EAGAIN from the kernel whenever any rename on
    /// the system races it (about one in ten here with one renaming thread): docker cp through such a
    /// link failed now and then on a busy host. Every lookup must still succeed.
    /// </summary>
    [Fact]
    public void Lookups_through_dotdot_succeed_while_renames_race_them()
    {
        Directory.CreateDirectory(Path.Combine(Root, "tmp"));
        Directory.CreateDirectory(Path.Combine(Root, "etc"));
        File.CreateSymbolicLink(Path.Combine(Root, "tmp", "up"), "../../../../../../../");
        string a = Path.Combine(Outside, "a"), b = Path.Combine(Outside, "b");
        File.WriteAllText(a, "");
        using var stop = new CancellationTokenSource();
        using var renaming = new ManualResetEventSlim();
        var renamer = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested) { File.Move(a, b); File.Move(b, a); renaming.Set(); }
        });
        using var r = new RootedPath(Root);
        int failures = 0, lastError = 0;
        try
        {
            Assert.True(renaming.Wait(TimeSpan.FromSeconds(30)), "the renaming thread did not start");
            for (int i = 0; i < 20000; i++)
            {
                int fd = r.TryOpen("/tmp/up/etc", O.DIRECTORY);
                if (fd < 0) { failures++; lastError = -fd; }
                else LibC.close(fd);
            }
        }
        finally { stop.Cancel(); renamer.Wait(); }
        Assert.True(failures == 0, $"{failures} of 20000 lookups failed, the last with errno {lastError}");
    }

    [Fact]
    public void Creates_missing_directories_and_files_inside()
    {
        using var r = new RootedPath(Root);
        Assert.Equal(Path.Combine(Root, "a/b/c"), Resolved(r.OpenOrCreate("/a/b/c", directory: true)));
        Assert.Equal(Path.Combine(Root, "a/b/file"), Resolved(r.OpenOrCreate("/a/b/file", directory: false)));
        Assert.True(File.Exists(Path.Combine(Root, "a/b/file")));
    }

    [Theory]
    [InlineData("abs")]
    [InlineData("rel")]
    [InlineData("dotdot")]
    public void Dangling_and_escaping_symlinks_are_followed_inside_the_root(string kind)
    {
        string link = Path.Combine(Root, "link");
        string target = kind switch
        {
            "abs" => Outside + "/new",
            "rel" => "../outside/new",
            _ => "../../../../../../../../" + Outside.TrimStart('/') + "/new",
        };
        File.CreateSymbolicLink(link, target);
        using var r = new RootedPath(Root);
        string got = Resolved(r.OpenOrCreate("/link/deeper", directory: true));
        Assert.StartsWith(Root + "/", got);
        Assert.EndsWith("/new/deeper", got);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Outside));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_dangling_symlink_as_the_last_component_is_followed_inside_the_root(bool directory)
    {
        // The parent exists, so this is the short path (make the name in the parent) meeting a
        // name that exists as a link: it must fall back to following it, inside the root.
        Directory.CreateDirectory(Path.Combine(Root, "dev"));
        File.CreateSymbolicLink(Path.Combine(Root, "dev", "pts"), Outside + "/pts");
        using var r = new RootedPath(Root);
        string got = Resolved(r.OpenOrCreate("/dev/pts", directory));
        Assert.Equal(Root + Outside + "/pts", got);
        Assert.Equal(directory, Directory.Exists(got));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Outside));
    }

    [Fact]
    public void A_symlink_loop_is_refused()
    {
        File.CreateSymbolicLink(Path.Combine(Root, "a"), "b");
        File.CreateSymbolicLink(Path.Combine(Root, "b"), "a");
        using var r = new RootedPath(Root);
        var e = Assert.Throws<LinuxException>(() => r.OpenOrCreate("/a/x", directory: true));
        Assert.Equal(Errno.ELOOP, e.ErrorCode);
    }

    [Fact]
    public void A_file_in_the_middle_of_a_path_is_refused()
    {
        File.WriteAllText(Path.Combine(Root, "f"), "");
        using var r = new RootedPath(Root);
        var e = Assert.Throws<LinuxException>(() => r.OpenOrCreate("/f/x", directory: true));
        Assert.Equal(Errno.ENOTDIR, e.ErrorCode);
    }
}
