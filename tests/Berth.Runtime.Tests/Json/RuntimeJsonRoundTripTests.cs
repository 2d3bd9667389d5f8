using System.Text;
using System.Text.Json;
using Berth.Oci;
using Berth.Oci.Runtime;
using Berth.Oci.Runtime.Writing;
using Berth.Runtime.Init;
using Berth.Runtime.State;

namespace Berth.Runtime.Tests.Json;

/// <summary>
/// state.json, the `state` output and the sync socket's frames are written and read by hand
/// (cold-start cost); they stay the JSON RuntimeJsonContext writes (with Go's escaping, as runc
/// writes it: GoJsonEncoder), and read back whole; JSON with STJ's default escaping reads the same.
/// </summary>
public class RuntimeJsonRoundTripTests
{
    private static readonly RuntimeJsonContext Go = new(new JsonSerializerOptions(RuntimeJsonContext.Default.Options) { Encoder = GoJsonEncoder.Instance });
    private static readonly RuntimeIndentedJsonContext GoIndented = new(new JsonSerializerOptions(RuntimeIndentedJsonContext.Default.Options) { Encoder = GoJsonEncoder.Instance });

    private static SavedState FullState() => new()
    {
        Id = "c1",
        Pid = 4242,
        PidStartTime = ulong.MaxValue,
        Bundle = "/b/\"quoted\" é",
        Rootfs = "/b/rootfs",
        Created = new DateTime(2026, 12, 1, 14, 3, 2, DateTimeKind.Utc).AddTicks(1234567),
        Owner = "",
        CgroupPaths = new() { ["memory"] = "/sys/fs/cgroup/memory/berth/c1", [""] = "/sys/fs/cgroup/unified/berth/c1" },
        Annotations = new() { ["org.example/key"] = "<v&>", ["n"] = null! },
        HasProcess = true,
        HostMountNamespace = true,
        HookPhases = ["poststart", "poststop"],
    };

    [Fact]
    public void Saved_state_is_the_json_stj_writes_and_reads_back()
    {
        var s = FullState();
        byte[] ours = SavedStateJson.Write(s);
        Assert.Equal(JsonSerializer.Serialize(s, Go.SavedState), Encoding.UTF8.GetString(ours));
        var back = SavedStateJson.Read(ours)!;
        Assert.Equal(ours, SavedStateJson.Write(back));
        Assert.Equal(DateTimeKind.Utc, back.Created.Kind);
        Assert.True(back.HasHooks("poststop"));
    }

    [Fact]
    public void Saved_state_with_nulls_left_out_reads_back()
    {
        var s = new SavedState { Id = "c2", Created = DateTime.UnixEpoch };
        byte[] ours = SavedStateJson.Write(s);
        Assert.Equal(JsonSerializer.Serialize(s, Go.SavedState), Encoding.UTF8.GetString(ours));
        var back = SavedStateJson.Read(ours)!;
        Assert.Null(back.Annotations);
        Assert.Null(back.HookPhases);
        Assert.Empty(back.CgroupPaths);
    }

    [Fact]
    public void A_state_file_written_by_stj_reads_the_same()
    {
        var s = FullState();
        byte[] stj = JsonSerializer.SerializeToUtf8Bytes(s, RuntimeJsonContext.Default.SavedState);
        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(s, Go.SavedState), SavedStateJson.Write(SavedStateJson.Read(stj)!));
    }

    [Fact]
    public void A_damaged_state_file_is_a_json_error()
    {
        Assert.ThrowsAny<JsonException>(() => SavedStateJson.Read("{\"id\": \"c1\", \"pid\": "u8));
        Assert.ThrowsAny<JsonException>(() => SavedStateJson.Read("{\"pid\": \"1\"}"u8));
    }

    [Fact]
    public void State_report_is_what_the_indented_context_writes()
    {
        var r = new StateReport
        {
            Id = "c1", Pid = 7, Status = "running", Bundle = "/b", Rootfs = "/b/rootfs", Owner = "",
            Created = DateTime.UtcNow, Annotations = new() { ["a"] = "b" },
        };
        Assert.Equal(JsonSerializer.Serialize(r, GoIndented.StateReport), Encoding.UTF8.GetString(SavedStateJson.WriteReport(r)));
        r.Annotations = null;
        Assert.Equal(JsonSerializer.Serialize(r, GoIndented.StateReport), Encoding.UTF8.GetString(SavedStateJson.WriteReport(r)));
    }

    [Fact]
    public void Create_request_round_trips()
    {
        var req = new InitRequest
        {
            Mode = "create",
            Id = "c1",
            Bundle = "/b",
            Rootfs = "/b/rootfs",
            Spec = null!,
            Process = null!,
            SpecFollows = true,
            FifoPath = "/run/x/c1/exec.fifo",
            ConsoleSocket = null,
            NoPivot = true,
            PreserveFds = 3,
            SeccompBpf = [0, 1, 2, 253, 254, 255],
            SeccompFlags = 5,
            CgroupMounts = [new() { Name = "memory", HostPath = "/sys/fs/cgroup/memory/x" }, new() { Name = "", HostPath = "/u", V2 = true }],
            InUserNamespace = true,
            NewUtsNamespace = true,
            HostMountNamespace = false,
            State = new ContainerState { Id = "c1", Status = "created", Pid = 9, Bundle = "/b", Annotations = new() { ["k"] = "v" } },
        };
        byte[] ours = InitRequestJson.Write(req);
        var back = InitRequestJson.Read(ours);
        // Null spec and process are left out, as RuntimeJsonContext leaves them out; the rest is its JSON.
        Assert.Equal(JsonSerializer.Serialize(req, Go.InitRequest), Encoding.UTF8.GetString(ours));
        Assert.Equal([0, 1, 2, 253, 254, 255], back.SeccompBpf!);
        Assert.Equal("created", back.State!.Status);
        Assert.True(back.CgroupMounts![1].V2);
        // The receiver's defaults stay what STJ's would be.
        var stj = JsonSerializer.Deserialize(ours, RuntimeJsonContext.Default.InitRequest)!;
        Assert.Equal(JsonSerializer.Serialize(stj, RuntimeJsonContext.Default.InitRequest), JsonSerializer.Serialize(back, RuntimeJsonContext.Default.InitRequest));
    }

    [Fact]
    public void Exec_request_carries_the_process()
    {
        var req = new InitRequest
        {
            Mode = "exec",
            Id = "c1",
            Process = new Process
            {
                Args = ["sh", "-c", "echo hi"],
                Env = ["PATH=/bin"],
                Cwd = "/",
                Terminal = true,
                ConsoleSize = new() { Height = 24, Width = 80 },
                User = new() { Uid = 1000, Gid = 1000, AdditionalGids = [10, 20], Umask = 0x12 },
                Capabilities = new() { Bounding = ["CAP_KILL"], Effective = ["CAP_KILL"] },
                Rlimits = [new() { Type = "RLIMIT_NOFILE", Hard = 1024, Soft = 1024 }],
                NoNewPrivileges = true,
            },
        };
        byte[] ours = InitRequestJson.Write(req);
        var back = InitRequestJson.Read(ours);
        Assert.Equal(JsonSerializer.Serialize(req.Process, OciJsonContext.Default.Process), JsonSerializer.Serialize(back.Process, OciJsonContext.Default.Process));
        Assert.Equal("exec", back.Mode);
        Assert.False(back.SpecFollows);
    }

    [Fact]
    public void Messages_round_trip()
    {
        var m = new InitMessage { Type = "error", Error = "mount /proc: \"denied\"", Pid = 12 };
        byte[] ours = InitRequestJson.Write(m);
        Assert.Equal(JsonSerializer.Serialize(m, Go.InitMessage), Encoding.UTF8.GetString(ours));
        var back = InitRequestJson.ReadMessage(ours);
        Assert.Equal((m.Type, m.Error, m.Pid), (back.Type, back.Error, back.Pid));
        Assert.Null(InitRequestJson.ReadMessage("{\"type\": \"created\"}"u8).Error);
    }
}
