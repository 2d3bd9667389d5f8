using System.Buffers;
using System.Text;
using System.Text.Json;
using Berth.Oci.Runtime;
using Berth.Oci.Runtime.Writing;

namespace Berth.Oci.Tests.Reading;

/// <summary>OciWriter (hand-written, for cold-start cost) writes what OciJsonContext writes, byte for byte.</summary>
public class OciWriterTests
{
    private static string Write(Action<Utf8JsonWriter> write)
    {
        var buf = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buf)) write(w);
        return Encoding.UTF8.GetString(buf.WrittenSpan);
    }

    public static TheoryData<string> Processes => ["filled", "empty", "null elements"];

    private static Process ProcessFor(string kind) => kind switch
    {
        "filled" => ModelFiller.Filled<Process>(),
        "empty" => new Process(),
        _ => new Process { Args = ["a", null!, "<&>'\"é"], Rlimits = [null!], User = new User { AdditionalGids = [] } },
    };

    [Theory]
    [MemberData(nameof(Processes))]
    public void Process_is_written_as_the_context_writes_it(string kind)
    {
        var p = ProcessFor(kind);
        string expected = Write(w => JsonSerializer.Serialize(w, p, OciJsonContext.Default.Process));
        Assert.Equal(expected, Write(w => OciWriter.WriteProcess(w, p)));
    }

    [Fact]
    public void Container_state_is_written_as_the_context_writes_it()
    {
        foreach (var s in new[] { ModelFiller.Filled<ContainerState>(), new ContainerState(), new ContainerState { Annotations = new() { ["k"] = null! } } })
        {
            string expected = Write(w => JsonSerializer.Serialize(w, s, OciJsonContext.Default.ContainerState));
            Assert.Equal(expected, Write(w => OciWriter.WriteContainerState(w, s)));
        }
    }
}
