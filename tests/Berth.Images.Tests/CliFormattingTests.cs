using Berth.Cli;

namespace Berth.Images.Tests;

public class CliFormattingTests
{
    [Theory]
    [InlineData(0, "0B")]
    [InlineData(999, "999B")]
    [InlineData(4_261_550, "4.26MB")]
    [InlineData(1_500_000_000, "1.5GB")]
    public void Sizes_use_dockers_decimal_units(long bytes, string text) => Assert.Equal(text, Formatting.Size(bytes));

    [Fact]
    public void Templates_fill_fields_and_tables()
    {
        var items = new List<IReadOnlyDictionary<string, string>>
        {
            new Dictionary<string, string> { ["Repository"] = "busybox", ["Tag"] = "latest" },
            new Dictionary<string, string> { ["Repository"] = "a-much-longer-name", ["Tag"] = "1" },
        };
        var headers = new Dictionary<string, string> { ["Repository"] = "REPOSITORY", ["Tag"] = "TAG" };
        Assert.Equal("busybox:latest\na-much-longer-name:1\n", Formatting.Template("{{.Repository}}:{{.Tag}}", items, headers));
        Assert.Equal("REPOSITORY           TAG\nbusybox              latest\na-much-longer-name   1\n",
            Formatting.Template("table {{.Repository}}\\t{{.Tag}}", items, headers));
        Assert.Equal("{\"Repository\":\"busybox\",\"Tag\":\"latest\"}\n", Formatting.Template("{{json .}}", items.Take(1).ToList(), headers));
        var e = Assert.Throws<Berth.Cli.Client.CliException>(() => Formatting.Template("{{.Nope}}", items, headers));
        Assert.Contains("can't evaluate field Nope", e.Message);
    }

    [Fact]
    public void Arguments_parse_like_docker()
    {
        var a = new Args("images", ["-qa", "--filter", "dangling=true", "--filter=label=x", "--no-trunc=false", "repo"], ["quiet|q", "all|a", "no-trunc"], ["filter|f"]);
        Assert.True(a.Flag("quiet"));
        Assert.True(a.Flag("all"));
        Assert.False(a.Flag("no-trunc"));
        Assert.Equal(["dangling=true", "label=x"], a.Values("filter"));
        Assert.Equal(["repo"], a.Positional);
        Assert.Throws<UsageException>(() => new Args("images", ["--filter"], [], ["filter"]));
        Assert.Throws<UsageException>(() => new Args("images", ["--bogus"], [], []));
        var dash = new Args("import", ["-", "--", "-x"], [], []);
        Assert.Equal(["-", "-x"], dash.Positional);
    }
}
