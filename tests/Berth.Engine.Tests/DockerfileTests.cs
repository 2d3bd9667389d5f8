using Berth.Engine.Build;

namespace Berth.Engine.Tests;

/// <summary>The Dockerfile syntax (pure logic): lines, continuations, forms, flags, words and variables.</summary>
public sealed class DockerfileTests
{
    [Fact]
    public void Instructions_are_read_with_continuations_comments_flags_and_both_forms()
    {
        var d = Dockerfile.Parse("""
            # a comment
            ARG BASE=busybox
            from $BASE AS first
            RUN echo one \
              # a comment inside is dropped
              && echo two
            COPY --chown=1:2 a b /dst/
            CMD ["sh", "-c", "echo hi"]
            ENTRYPOINT echo not json [
            """);
        Assert.Equal(["ARG", "FROM", "RUN", "COPY", "CMD", "ENTRYPOINT"], d.Select(i => i.Keyword));
        Assert.Equal("$BASE AS first", d[1].Args[0]);
        Assert.Equal(4, d[2].Line);
        Assert.Equal("echo one   && echo two", d[2].Args[0]);
        Assert.Equal("1:2", d[3].Flags["chown"]);
        Assert.Equal("a b /dst/", d[3].Args[0]);
        Assert.True(d[4].Json);
        Assert.Equal(["sh", "-c", "echo hi"], d[4].Args);
        Assert.False(d[5].Json);
    }

    [Fact]
    public void The_escape_directive_changes_the_continuation_character()
    {
        var d = Dockerfile.Parse("# escape=`\nFROM busybox\nRUN echo a `\n  b\nCOPY c:\\path\\file /x\n");
        Assert.Equal("echo a   b", d[1].Args[0]);
        Assert.Equal("c:\\path\\file /x", d[2].Args[0]);
    }

    [Theory]
    [InlineData("", "cannot be empty")]
    [InlineData("RUN true\nFROM busybox", "first instruction must be FROM")]
    [InlineData("FROM busybox\nFOO bar", "line 2: unknown instruction: FOO")]
    [InlineData("FROM busybox\nCOPY", "COPY requires at least one argument")]
    [InlineData("# escape=x\nFROM busybox", "invalid escape character")]
    public void Bad_dockerfiles_are_refused_with_the_line_and_the_cause(string text, string message)
    {
        var e = Assert.Throws<BuildException>(() => Dockerfile.Parse(text));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Words_keep_quoted_spaces_and_drop_the_quotes()
    {
        Assert.Equal(["a", "b c", "d'e", ""], Dockerfile.Words("a \"b c\" \"d'e\" ''"));
        Assert.Equal(["x y"], Dockerfile.Words("x\\ y"));
        Assert.Throws<BuildException>(() => Dockerfile.Words("\"open"));
    }

    [Fact]
    public void Variables_expand_with_defaults_and_alternatives_and_escaped_dollars_stay()
    {
        var vars = new Dictionary<string, string> { ["A"] = "1", ["EMPTY"] = "" };
        Assert.Equal("1-1-x", Dockerfile.Expand("$A-${A}-x", vars));
        Assert.Equal("dflt|1|alt|", Dockerfile.Expand("${NOPE:-dflt}|${A:-d}|${A:+alt}|${EMPTY:+alt}", vars));
        Assert.Equal("$A and ", Dockerfile.Expand("\\$A and $MISSING", vars));
        Assert.Equal("cost $", Dockerfile.Expand("cost $", vars));
        Assert.Throws<BuildException>(() => Dockerfile.Expand("${A", vars));
    }
}
