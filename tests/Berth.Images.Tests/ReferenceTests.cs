using Berth.Images.Content;
using Berth.Images.References;

namespace Berth.Images.Tests;

public class ReferenceTests
{
    [Theory]
    [InlineData("busybox", "docker.io/library/busybox:latest", "busybox:latest")]
    [InlineData("library/busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36")]
    [InlineData("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest")]
    [InlineData("index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest")]
    [InlineData("user/app:v1", "docker.io/user/app:v1", "user/app:v1")]
    [InlineData("localhost/app", "localhost/app:latest", "localhost/app:latest")]
    [InlineData("localhost:5000/a/b/c:tag", "localhost:5000/a/b/c:tag", "localhost:5000/a/b/c:tag")]
    [InlineData("127.0.0.1:5000/busybox", "127.0.0.1:5000/busybox:latest", "127.0.0.1:5000/busybox:latest")]
    [InlineData("quay.io/org/img-name_x.y:1.0-rc", "quay.io/org/img-name_x.y:1.0-rc", "quay.io/org/img-name_x.y:1.0-rc")]
    [InlineData("[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest")]
    public void Normalises_like_docker(string input, string full, string familiar)
    {
        var r = ImageReference.Parse(input);
        Assert.Equal(full, r.ToString());
        Assert.Equal(familiar, r.Familiar);
    }

    [Fact]
    public void Digest_references_have_no_default_tag()
    {
        string d = "sha256:" + new string('a', 64);
        var r = ImageReference.Parse("busybox@" + d);
        Assert.Null(r.Tag);
        Assert.Equal(d, r.Digest.ToString());
        Assert.Equal(d, r.ManifestReference);
        var both = ImageReference.Parse("reg:5000/x:1@" + d);
        Assert.Equal("1", both.Tag);
        Assert.Equal("reg:5000", both.Registry);
        Assert.Equal(d, both.ManifestReference);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("Busybox", "lowercase")]
    [InlineData("busybox:", "invalid tag")]
    [InlineData("busybox:-x", "invalid tag")]
    [InlineData("bad name", "whitespace")]
    [InlineData("busybox@sha256:abc", "64 lowercase hex")]
    [InlineData("busybox@md5:0123", "unsupported digest algorithm")]
    [InlineData("a//b", "invalid repository path component")]
    [InlineData("-x.com/y", "invalid registry host")]
    [InlineData("-x/y", "invalid repository path component")]
    [InlineData("localhost:5000/", "missing repository")]
    [InlineData("x/Y", "lowercase")]
    public void Malformed_references_are_refused_with_the_cause(string input, string cause)
    {
        var e = Assert.Throws<ImageException>(() => ImageReference.Parse(input));
        Assert.Contains("invalid reference format", e.Message);
        Assert.Contains(cause, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void Too_long_names_are_refused()
    {
        var e = Assert.Throws<ImageException>(() => ImageReference.Parse("example.com/" + new string('a', 250)));
        Assert.Contains("255", e.Message);
    }

    [Fact]
    public void Chain_ids_follow_the_image_spec()
    {
        string a = "sha256:" + new string('1', 64), b = "sha256:" + new string('2', 64);
        var chain = Manifests.ChainIds([a, b]);
        Assert.Equal(a, chain[0]);
        Assert.Equal(Digest.Of(System.Text.Encoding.ASCII.GetBytes(a + " " + b)).ToString(), chain[1]);
    }
}
