using System.Text;
using Berth.Runtime.Bundle;

namespace Berth.Runtime.Tests.Json;

/// <summary>config.json errors read by the hand-written reader keep their one-line form: the field and the line.</summary>
public class SpecLoaderMessageTests
{
    private static string Error(string json) =>
        Assert.Throws<RuntimeException>(() => SpecLoader.Parse(Encoding.UTF8.GetBytes(json))).Message;

    [Fact]
    public void A_wrong_type_in_a_nested_list_names_the_element_and_its_line()
    {
        string msg = Error("{\n  \"process\": {\n    \"args\": [1]\n  }\n}");
        Assert.StartsWith("config.json: invalid JSON at field process.args[0] (line 3): ", msg);
        Assert.Contains("expected a string, found the number 1", msg);
    }

    [Fact]
    public void A_wrong_type_deep_in_linux_names_the_whole_path()
    {
        string msg = Error("{\"linux\": {\"resources\": {\"devices\": [{\"allow\": true}, {\"allow\": \"yes\"}]}}}");
        Assert.StartsWith("config.json: invalid JSON at field linux.resources.devices[1].allow (line 1): ", msg);
    }

    [Fact]
    public void A_truncated_document_names_where_it_stopped()
    {
        string msg = Error("{\n  \"process\": {\n    \"args\": [\"sh\",");
        Assert.StartsWith("config.json: invalid JSON at field process.args[0] (line 3): ", msg);
        Assert.DoesNotContain("LineNumber", msg);
    }

    [Fact]
    public void A_document_that_is_not_an_object_has_no_field()
    {
        string msg = Error("[\"sh\"]");
        Assert.StartsWith("config.json: invalid JSON (line 1): expected an object", msg);
    }

    [Fact]
    public void A_null_document_is_empty()
    {
        Assert.Equal("config.json: empty document", Error(" null "));
    }

    [Fact]
    public void Process_and_resources_documents_are_read_the_same_way()
    {
        var p = SpecLoader.ParseProcess("{\"args\": [\"true\"], \"cwd\": \"/\", /* c */ }"u8, "process.json");
        Assert.Equal(["true"], p.Args!);
        var e = Assert.Throws<RuntimeException>(() => SpecLoader.ParseResources("{\"pids\": {\"limit\": \"10\"}}"u8, "resources"));
        Assert.StartsWith("resources: invalid JSON at field pids.limit (line 1): ", e.Message);
    }
}
