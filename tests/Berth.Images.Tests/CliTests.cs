using System.Text.Json;

namespace Berth.Images.Tests;

/// <summary>The berth command line, run as a process: docker's output, and one line on stderr for every bad input.</summary>
public class CliTests : IClassFixture<RegistryWithImage>
{
    private readonly RegistryWithImage _f;

    public CliTests(RegistryWithImage f) => _f = f;

    private static void AssertOneLineFailure(BerthCli.Result r, string cause, int code = 1)
    {
        Assert.Equal(code, r.Code);
        var line = Assert.Single(r.ErrLines);
        Assert.Contains(cause, line);
    }

    [Fact]
    public void Image_commands_work_end_to_end()
    {
        using var t = new TempDir();
        string root = t.Sub("root");
        var pull = BerthCli.Run(root, "pull", _f.Reference);
        Assert.True(pull.Code == 0, pull.Stderr);
        Assert.Contains("Pull complete", pull.Stdout);
        Assert.EndsWith(_f.Reference + "\n", pull.Stdout);

        var images = BerthCli.Run(root, "images");
        Assert.Equal(0, images.Code);
        var lines = images.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$", lines[0]);
        Assert.Matches(@$"^{_f.Registry.Host.Replace(".", "\\.")}/test/busybox\s+v1\s+[0-9a-f]{{12}}\s+.+ ago\s+[0-9.]+MB$", lines[1]);

        Assert.Equal(0, BerthCli.Run(root, "tag", _f.Reference, "mine:latest").Code);
        var q = BerthCli.Run(root, "images", "-q");
        Assert.Single(q.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var fmt = BerthCli.Run(root, "images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=mine");
        Assert.Equal("mine:latest\n", fmt.Stdout);

        using (var doc = JsonDocument.Parse(BerthCli.Run(root, "image", "inspect", "mine").Stdout))
            Assert.Equal("/bin/sh", doc.RootElement[0].GetProperty("Config").GetProperty("Cmd")[0].GetString());
        var id = BerthCli.Run(root, "image", "inspect", "--format", "{{.Id}} {{.Config.Cmd}} {{json .RootFS.Type}}", "mine");
        Assert.Matches("^sha256:[0-9a-f]{64} \\[/bin/sh\\] \"layers\"\n$", id.Stdout);
        var history = BerthCli.Run(root, "history", "mine");
        Assert.Contains("umoci", history.Stdout);

        string archive = Path.Combine(t.Path, "saved.tar");
        Assert.Equal(0, BerthCli.Run(root, "save", "-o", archive, "mine").Code);
        Assert.Equal("Untagged: mine:latest\n", BerthCli.Run(root, "rmi", "mine").Stdout);
        var load = BerthCli.Run(root, "load", "-i", archive);
        Assert.Equal("Loaded image: mine:latest\n", load.Stdout);

        string rootfs = Path.Combine(t.Path, "rootfs.tar");
        File.WriteAllBytes(rootfs, new TarBuilder().File("hello", "hi").Build());
        var imp = BerthCli.Run(root, "import", "--change", "CMD [\"/hello\"]", "-c", "ENV A=b", rootfs, "imported:1");
        Assert.Equal(0, imp.Code);
        Assert.StartsWith("sha256:", imp.Stdout);
        Assert.Contains("imported", BerthCli.Run(root, "images").Stdout);

        var rmi = BerthCli.Run(root, "rmi", "-f", "imported:1");
        Assert.Contains("Deleted: sha256:", rmi.Stdout);
        var prune = BerthCli.Run(root, "image", "prune", "-a", "-f");
        Assert.Equal(0, prune.Code);
        Assert.Contains("Total reclaimed space:", prune.Stdout);
        Assert.Equal("", BerthCli.Run(root, "images", "-q").Stdout);
    }

    [Theory]
    [InlineData("pull|Not_Valid", "invalid reference format")]
    [InlineData("pull|busybox@sha256:1234", "invalid reference format")]
    [InlineData("rmi|missing:1", "No such image: missing:1")]
    [InlineData("tag|missing:1|x:1", "No such image")]
    [InlineData("image|inspect|missing", "No such image")]
    [InlineData("history|missing", "No such image")]
    [InlineData("load|-i|/nonexistent.tar", "no such file")]
    [InlineData("import|/nonexistent.tar", "no such file")]
    [InlineData("images|--filter|bogus=1", "invalid filter")]
    [InlineData("push|nothere:1", "does not exist locally")]
    public void Bad_input_is_one_line_and_a_non_zero_exit(string args, string cause)
    {
        using var t = new TempDir();
        string root = t.Sub("root");
        var r = BerthCli.Run(root, args.Split('|'));
        AssertOneLineFailure(r, cause);
        Assert.Equal("", BerthCli.Run(root, "images", "-q").Stdout);
    }

    [Theory]
    [InlineData("frobnicate", "not a berth command")]
    [InlineData("pull", "requires exactly 1 argument")]
    [InlineData("images|--bogus", "unknown flag")]
    public void Usage_mistakes_exit_125(string args, string cause)
    {
        using var t = new TempDir();
        AssertOneLineFailure(BerthCli.Run(t.Path, args.Split('|')), cause, code: 125);
    }

    [Fact]
    public void Hostile_tarballs_through_the_cli_leave_the_store_as_it_was()
    {
        using var t = new TempDir();
        string root = t.Sub("root");
        Assert.Equal(0, BerthCli.Run(root, "pull", _f.Reference).Code);
        string before = BerthCli.Run(root, "images", "--no-trunc", "-q").Stdout;
        var blobs = Directory.GetFiles(Path.Combine(root, "blobs/sha256")).Order().ToArray();
        string evil = Path.Combine(t.Path, "evil.tar");
        File.WriteAllBytes(evil, new TarBuilder().Symlink("x", "/").Hardlink("y", "../../../etc/passwd").Build());
        AssertOneLineFailure(BerthCli.Run(root, "import", evil, "evil:1"), "points outside");
        var layers = new List<byte[]> { new TarBuilder().File("../escape", "x").Build() };
        string archive = DockerArchive.Write(t.Path, layers, "evil:2");
        AssertOneLineFailure(BerthCli.Run(root, "load", "-i", archive), "points outside");
        Assert.Equal(before, BerthCli.Run(root, "images", "--no-trunc", "-q").Stdout);
        Assert.Equal(blobs, Directory.GetFiles(Path.Combine(root, "blobs/sha256")).Order().ToArray());
        Assert.False(File.Exists(Path.Combine(t.Path, "escape")));
    }

    [Fact]
    public void Login_and_logout_share_docker_config_json()
    {
        using var t = new TempDir();
        using var reg = new RegistryServer(htpasswd: TestProcess.Run("htpasswd", "-Bbn", "bob", "builder"));
        var env = new Dictionary<string, string> { ["DOCKER_CONFIG"] = t.Sub("docker") };
        string root = t.Sub("root");
        var wrong = BerthCli.RunWith(root, env, "nope", "login", "-u", "bob", "--password-stdin", reg.Host);
        AssertOneLineFailure(wrong, "unauthorized");
        var ok = BerthCli.RunWith(root, env, "builder\n", "login", "-u", "bob", "--password-stdin", reg.Host);
        Assert.True(ok.Code == 0, ok.Stderr);
        Assert.Contains("Login Succeeded", ok.Stdout);
        string config = File.ReadAllText(Path.Combine(env["DOCKER_CONFIG"], "config.json"));
        Assert.Contains(Convert.ToBase64String("bob:builder"u8.ToArray()), config);
        // skopeo reads the same file (docker's format) and can push with it.
        TestProcess.Run("skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--authfile", Path.Combine(env["DOCKER_CONFIG"], "config.json"),
            $"oci:{_f.Image.Layout}:{UmociImage.Tag}", $"docker://{reg.Host}/p/q:1");
        Assert.Equal(0, BerthCli.RunWith(root, env, null, "pull", $"{reg.Host}/p/q:1").Code);
        Assert.Contains("Removing login credentials", BerthCli.RunWith(root, env, null, "logout", reg.Host).Stdout);
        AssertOneLineFailure(BerthCli.RunWith(t.Sub("root2"), env, null, "pull", $"{reg.Host}/p/q:1"), "unauthorized");
    }
}
