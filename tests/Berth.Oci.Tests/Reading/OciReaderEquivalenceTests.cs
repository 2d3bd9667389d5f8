using System.Collections;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Oci.Defaults;
using Berth.Oci.Runtime;
using Berth.Oci.Runtime.Reading;

namespace Berth.Oci.Tests.Reading;

/// <summary>
/// OciReader (hand-written, for cold-start cost) must read config.json exactly as OciJsonContext
/// does: the same objects for every document STJ accepts, an error at the same field and line
/// for every one it rejects. Objects are compared by serializing both with OciJsonContext.
/// </summary>
public class OciReaderEquivalenceTests
{
    private static string ViaStj(string json) =>
        JsonSerializer.Serialize(JsonSerializer.Deserialize(json, OciJsonContext.Default.Spec), OciJsonContext.Default.Spec);

    private static string ViaReader(string json) =>
        JsonSerializer.Serialize(OciReader.ParseSpec(Encoding.UTF8.GetBytes(json)), OciJsonContext.Default.Spec);

    private static void AssertSameResult(string json)
    {
        string expected = ViaStj(json);
        Assert.Equal(expected, ViaReader(json));
    }

    /// <summary>Either both read it to the same objects, or both fail at the same path and line.</summary>
    private static void AssertSameOutcome(string json, string what)
    {
        string? expected = null;
        JsonException? stjError = null;
        try { expected = ViaStj(json); } catch (JsonException e) { stjError = e; }
        string? actual = null;
        JsonException? ourError = null;
        try { actual = ViaReader(json); } catch (JsonException e) { ourError = e; }

        if (stjError is null)
        {
            Assert.True(ourError is null, $"{what}: STJ accepts it, OciReader says {ourError?.Message} at {ourError?.Path}\n{json}");
            Assert.Equal(expected, actual);
        }
        else
        {
            Assert.True(ourError is not null, $"{what}: STJ rejects it ({stjError.Message}), OciReader accepts it\n{json}");
            Assert.True(stjError.Path == ourError!.Path, $"{what}: path {ourError.Path}, STJ's {stjError.Path}");
            Assert.True(stjError.LineNumber == ourError.LineNumber, $"{what}: line {ourError.LineNumber}, STJ's {stjError.LineNumber}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Reads_runc_spec_like_stj(bool rootless)
    {
        string json = RuncSpec.Json(rootless);
        AssertSameResult(json);
        Assert.Equal(["sh"], OciReader.ParseSpec(Encoding.UTF8.GetBytes(json))!.Process!.Args!);
    }

    [Fact]
    public void Reads_a_spec_with_every_field_set_like_stj()
    {
        string json = JsonSerializer.Serialize(ModelFiller.Filled<Spec>(), OciJsonContext.Default.Spec);
        // The filler reached every property of every model: each name the context knows is in the document.
        foreach (var name in ModelFiller.JsonNamesUnder(typeof(Spec)))
            Assert.Contains($"\"{name}\":", json);
        AssertSameResult(json);
        // And the result is the document itself, not just the same as STJ's.
        Assert.Equal(json, ViaReader(json));
    }

    [Fact]
    public void Reads_dockers_seccomp_profile_like_stj()
    {
        var spec = RuncDefaults.Spec(rootless: false);
        spec.Linux!.Seccomp = DockerDefaults.Seccomp();
        string json = JsonSerializer.Serialize(spec, OciJsonContext.Default.Spec);
        Assert.Contains("SCMP_CMP_MASKED_EQ", json);
        AssertSameResult(json);
    }

    [Theory]
    [InlineData("comments", "/* head */ {\"hostname\": /* inline */ \"h\", // tail\n \"process\": {\"args\": [\"a\", /* x */ \"b\"]}} // end")]
    [InlineData("trailing commas", "{\"mounts\": [{\"destination\": \"/x\", \"options\": [\"ro\",],},], \"annotations\": {\"a\": \"b\",},}")]
    [InlineData("unknown properties", "{\"future\": {\"deep\": [1, {\"x\": null}]}, \"process\": {\"novel\": true, \"cwd\": \"/\"}, \"linux\": {\"seccomp\": {\"what\": []}}}")]
    [InlineData("names are case-sensitive", "{\"Hostname\": \"ignored\", \"hostname\": \"kept\", \"PROCESS\": 3}")]
    [InlineData("escaped names", "{\"host\\u006eame\": \"h\", \"linux\": {\"sysctl\": {\"a\\u002eb\": \"1\"}}}")]
    [InlineData("nulls", "{\"process\": null, \"root\": {\"path\": null}, \"mounts\": [null, {\"options\": null}], \"linux\": {\"sysctl\": {\"k\": null}, \"maskedPaths\": [null, \"/x\"], \"resources\": {\"memory\": {\"limit\": null, \"disableOOMKiller\": null}}}}")]
    [InlineData("repeated names: the last wins", "{\"hostname\": \"a\", \"hostname\": \"b\", \"annotations\": {\"k\": \"1\", \"k\": \"2\"}, \"mounts\": [{}], \"mounts\": []}")]
    [InlineData("number edges", "{\"process\": {\"rlimits\": [{\"hard\": 18446744073709551615, \"soft\": 0}], \"oomScoreAdj\": -1000}, \"linux\": {\"devices\": [{\"major\": -9223372036854775808, \"minor\": 9223372036854775807}], \"resources\": {\"blockIO\": {\"weight\": 65535}}}}")]
    [InlineData("exponent and fraction forms", "{\"process\": {\"user\": {\"uid\": 1e3}}}")]
    [InlineData("empty object", "{}")]
    [InlineData("null document", "null")]
    public void Accepts_and_reads_what_stj_does(string what, string json) => AssertSameOutcome(json, what);

    [Theory]
    [InlineData("string for a list", "{\"process\": {\"args\": \"sh\"}}", "$.process.args")]
    [InlineData("number in a string list", "{\"process\": {\"args\": [\"sh\", 1]}}", "$.process.args[1]")]
    [InlineData("quoted number", "{\"linux\": {\"devices\": [{\"major\": \"1\"}]}}", "$.linux.devices[0].major")]
    [InlineData("fraction for an integer", "{\"linux\": {\"resources\": {\"memory\": {\"limit\": 1.5}}}}", "$.linux.resources.memory.limit")]
    [InlineData("negative for unsigned", "{\"process\": {\"user\": {\"uid\": -1}}}", "$.process.user.uid")]
    [InlineData("too big for ushort", "{\"linux\": {\"resources\": {\"blockIO\": {\"weight\": 65536}}}}", "$.linux.resources.blockIO.weight")]
    [InlineData("null for a plain bool", "{\"root\": {\"readonly\": null}}", "$.root.readonly")]
    [InlineData("null in a uint list", "{\"process\": {\"user\": {\"additionalGids\": [1, null]}}}", "$.process.user.additionalGids[1]")]
    [InlineData("array for an object", "{\"process\": {\"consoleSize\": []}}", "$.process.consoleSize")]
    [InlineData("number in a dotted map key", "{\"linux\": {\"sysctl\": {\"net.ipv4.ip_forward\": 1}}}", "$.linux.sysctl['net.ipv4.ip_forward']")]
    [InlineData("object for a string, later line", "{\n  \"ociVersion\": \"1.2.0\",\n  \"hooks\": {\n    \"poststop\": [{\"path\": {}}]\n  }\n}", "$.hooks.poststop[0].path")]
    [InlineData("not an object", "[]", "$")]
    [InlineData("a string document", "\"spec\"", "$")]
    public void Rejects_wrong_types_at_the_same_field_and_line_as_stj(string what, string json, string path)
    {
        AssertSameOutcome(json, what);
        var e = Assert.ThrowsAny<JsonException>(() => OciReader.ParseSpec(Encoding.UTF8.GetBytes(json)));
        Assert.Equal(path, e.Path);
    }

    [Theory]
    [InlineData("truncated", "{\"ociVersion\": \"1.0.2\", ")]
    [InlineData("truncated inside a list", "{\"process\": {\"args\": [\"a\",")]
    [InlineData("missing value", "{\"hostname\": }")]
    [InlineData("garbage after the document", "{} x")]
    [InlineData("two documents", "{} {}")]
    [InlineData("empty input", "")]
    [InlineData("comment only", "// nothing")]
    [InlineData("single quotes", "{'hostname': 'h'}")]
    [InlineData("too deep", "{\"future\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}")]
    public void Rejects_malformed_json_as_stj_does(string what, string json)
    {
        Assert.ThrowsAny<JsonException>(() => ViaStj(json));
        var e = Assert.ThrowsAny<JsonException>(() => OciReader.ParseSpec(Encoding.UTF8.GetBytes(json)));
        Assert.True(e.LineNumber is not null, what);
        Assert.StartsWith("$", e.Path);
    }

    /// <summary>
    /// Every value of the every-field document replaced in turn by each JSON kind: both readers
    /// agree on each of those documents (the same objects, or an error at the same field and line).
    /// </summary>
    [Fact]
    public void Agrees_with_stj_on_every_field_given_every_kind_of_value()
    {
        string json = JsonSerializer.Serialize(ModelFiller.Filled<Spec>(), new JsonSerializerOptions(OciJsonContext.Default.Options) { WriteIndented = true });
        var root = JsonNode.Parse(json)!;
        int count = Descendants(root).Count();
        string[] replacements = ["null", "\"x\"", "1.5", "-1", "7", "true", "[]", "{}", "[\"a\"]", "{\"k\": \"v\"}"];
        int cases = 0;
        for (int i = 0; i < count; i++)
        {
            foreach (var r in replacements)
            {
                var clone = root.DeepClone();
                var target = Descendants(clone).ElementAt(i);
                string where = target.GetPath();
                target.ReplaceWith(JsonNode.Parse(r));
                AssertSameOutcome(clone.ToJsonString(new JsonSerializerOptions { WriteIndented = true }), $"{where} = {r}");
                cases++;
            }
        }
        Assert.True(cases > 1000, $"only {cases} cases");
    }

    private static IEnumerable<JsonNode> Descendants(JsonNode node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, v) in o.ToList())
                    if (v is not null) { yield return v; foreach (var d in Descendants(v)) yield return d; }
                break;
            case JsonArray a:
                foreach (var v in a.ToList())
                    if (v is not null) { yield return v; foreach (var d in Descendants(v)) yield return d; }
                break;
        }
    }
}

/// <summary>Builds a model with every property set (reflection is fine here: tests are not NativeAOT).</summary>
internal static class ModelFiller
{
    public static T Filled<T>() where T : class => (T)Fill(typeof(T), 0);

    private static object Fill(Type t, int salt)
    {
        var u = Nullable.GetUnderlyingType(t) ?? t;
        if (u == typeof(string)) return $"s{salt}";
        if (u == typeof(bool)) return true;
        // Extremes, so a reader that narrows or widens a type is caught.
        if (u == typeof(int)) return salt % 2 == 0 ? int.MinValue : int.MaxValue;
        if (u == typeof(long)) return salt % 2 == 0 ? long.MinValue : long.MaxValue;
        if (u == typeof(uint)) return uint.MaxValue - (uint)salt;
        if (u == typeof(ulong)) return ulong.MaxValue - (ulong)salt;
        if (u == typeof(ushort)) return (ushort)(ushort.MaxValue - salt);
        if (u.IsGenericType && u.GetGenericTypeDefinition() == typeof(List<>))
        {
            var list = (IList)Activator.CreateInstance(u)!;
            list.Add(Fill(u.GetGenericArguments()[0], salt + 1));
            list.Add(Fill(u.GetGenericArguments()[0], salt + 2));
            return list;
        }
        if (u.IsGenericType && u.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        {
            var map = (IDictionary)Activator.CreateInstance(u)!;
            map["plain"] = Fill(u.GetGenericArguments()[1], salt + 1);
            map["with.dots and 'quotes'"] = Fill(u.GetGenericArguments()[1], salt + 2);
            return map;
        }
        var o = Activator.CreateInstance(u)!;
        int i = 0;
        foreach (var p in u.GetProperties().Where(p => p.CanWrite))
            p.SetValue(o, Fill(p.PropertyType, salt + ++i));
        return o;
    }

    /// <summary>Every JSON property name of the type and the models under it.</summary>
    public static HashSet<string> JsonNamesUnder(Type t)
    {
        var names = new HashSet<string>();
        var seen = new HashSet<Type>();
        void Walk(Type x)
        {
            x = Nullable.GetUnderlyingType(x) ?? x;
            if (x.IsGenericType) { foreach (var a in x.GetGenericArguments()) Walk(a); return; }
            if (x.Namespace != typeof(Spec).Namespace || !seen.Add(x)) return;
            foreach (var p in x.GetProperties())
            {
                if (p.GetCustomAttribute<System.Text.Json.Serialization.JsonPropertyNameAttribute>() is { } a) names.Add(a.Name);
                Walk(p.PropertyType);
            }
        }
        Walk(t);
        return names;
    }
}
