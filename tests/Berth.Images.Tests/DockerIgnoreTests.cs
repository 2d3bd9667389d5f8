using Berth.Cli.Build;

namespace Berth.Images.Tests;

/// <summary>.dockerignore matching as the docker CLI does it (pure logic).</summary>
public sealed class DockerIgnoreTests
{
    [Theory]
    [InlineData("secret.txt", "secret.txt", true)]
    [InlineData("secret.txt", "sub/secret.txt", false)]
    [InlineData("*.log", "a.log", true)]
    [InlineData("*.log", "dir/a.log", false)]
    [InlineData("**/*.log", "dir/deeper/a.log", true)]
    [InlineData("**/*.log", "a.log", true)]
    [InlineData("build", "build/out/x.o", true)]
    [InlineData("./build/", "build/x", true)]
    [InlineData("te?t", "test", true)]
    [InlineData("te?t", "teest", false)]
    [InlineData("[a-c].md", "b.md", true)]
    [InlineData("[a-c].md", "d.md", false)]
    [InlineData("node_modules/**", "node_modules/x/y.js", true)]
    public void One_pattern_matches_as_docker_does(string pattern, string path, bool excluded) =>
        Assert.Equal(excluded, new DockerIgnore([pattern]).Excludes(path));

    [Fact]
    public void Exceptions_take_matches_back_and_the_last_matching_line_wins()
    {
        var i = new DockerIgnore(["# comment", "", "*.md", "!README.md", "docs", "!docs/keep.txt", "README.md"]);
        Assert.True(i.Excludes("CHANGES.md"));
        Assert.True(i.Excludes("README.md")); // excluded again by the last line
        Assert.True(i.Excludes("docs/a.txt"));
        Assert.False(i.Excludes("docs/keep.txt"));
        Assert.False(i.Excludes("src/main.c"));
        Assert.False(new DockerIgnore([]).Excludes("anything"));
    }
}
