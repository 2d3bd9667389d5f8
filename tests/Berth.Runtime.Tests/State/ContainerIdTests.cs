using Berth.Runtime;
using Berth.Runtime.State;

namespace Berth.Runtime.Tests.State;

/// <summary>Container ids follow runc's rule: ^[A-Za-z0-9][A-Za-z0-9_+\-.]*$, at most 1024 characters.</summary>
public sealed class ContainerIdTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("9")]
    [InlineData("web-1")]
    [InlineData("x_y+z.v-w")]
    [InlineData("ABCdef0123")]
    public void Valid_ids_pass(string id) => StateStore.ValidateId(id);

    [Theory]
    [InlineData("-a", "use letters")]
    [InlineData(".", "use letters")]
    [InlineData("..", "use letters")]
    [InlineData("_x", "use letters")]
    [InlineData("a b", "use letters")]
    [InlineData("a:b", "use letters")]
    [InlineData("é", "use letters")]
    [InlineData("a/b", "slash")]
    [InlineData("", "empty")]
    public void Invalid_ids_are_refused_with_the_reason(string id, string reason)
    {
        var e = Assert.Throws<RuntimeException>(() => StateStore.ValidateId(id));
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void An_id_longer_than_1024_characters_is_refused()
    {
        StateStore.ValidateId(new string('a', 1024));
        Assert.Throws<RuntimeException>(() => StateStore.ValidateId(new string('a', 1025)));
    }
}
