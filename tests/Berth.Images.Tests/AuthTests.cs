using Berth.Images.Registry;
using Berth.Images.Service;

namespace Berth.Images.Tests;

/// <summary>Registries that need credentials: htpasswd basic auth and bearer tokens, credentials from docker's config.json.</summary>
public class AuthTests : IClassFixture<UmociImageFixture>
{
    private readonly UmociImage _image;
    private const string User = "alice", Password = "wonder land";

    public AuthTests(UmociImageFixture f) => _image = f.Image;

    private static string Htpasswd() => TestProcess.Run("htpasswd", "-Bbn", User, Password);

    private static ImageService Service(string root, string configJson) => new(new ImageServiceOptions
    {
        Root = root,
        Registry = new RegistryOptions { Credentials = new CredentialStore(configJson) },
    });

    [Fact]
    public async Task Basic_auth_refuses_anonymous_and_accepts_config_json_credentials()
    {
        using var t = new TempDir();
        using var reg = new RegistryServer(htpasswd: Htpasswd());
        string cfg = Path.Combine(t.Path, "docker", "config.json");
        string repo = $"{reg.Host}/private/busybox:v1";
        TestProcess.Run("skopeo", "copy", "--quiet", "--dest-tls-verify=false", $"--dest-creds={User}:{Password}", $"oci:{_image.Layout}:{UmociImage.Tag}", $"docker://{repo}");

        using (var anon = Service(t.Sub("anon"), cfg))
        {
            var e = await Assert.ThrowsAsync<RegistryException>(() => anon.PullAsync(repo, null, null));
            Assert.Contains("unauthorized", e.Message);
            Assert.Contains(reg.Host, e.Message);
            Assert.Empty(anon.List([]));
        }

        new CredentialStore(cfg).Save(reg.Host, new Credentials(User, Password));
        Assert.Contains("\"auth\"", File.ReadAllText(cfg)); // docker's format: base64(user:password)
        using var s = Service(t.Sub("root"), cfg);
        string id = await s.PullAsync(repo, null, null);
        string pushed = $"{reg.Host}/private/copy:v2";
        s.Tag(repo, pushed);
        await s.PushAsync(pushed, null);
        string raw = TestProcess.Run("skopeo", "inspect", "--raw", "--tls-verify=false", $"--creds={User}:{Password}", $"docker://{pushed}");
        Assert.Contains("layers", raw);
        Assert.Equal(id, s.Resolve(pushed).Id);
    }

    [Fact]
    public async Task Bearer_tokens_from_the_challenge_realm_with_scopes()
    {
        using var t = new TempDir();
        using var tokens = new TokenServer(User, Password);
        using var reg = new RegistryServer(token: tokens.Auth);
        string cfg = Path.Combine(t.Path, "config.json");
        new CredentialStore(cfg).Save(reg.Host, new Credentials(User, Password));
        string repo = $"{reg.Host}/team/busybox:v1";
        TestProcess.Run("skopeo", "copy", "--quiet", "--dest-tls-verify=false", $"--dest-creds={User}:{Password}", $"oci:{_image.Layout}:{UmociImage.Tag}", $"docker://{repo}");
        int before = tokens.TokensIssued;

        using var s = Service(t.Sub("root"), cfg);
        await s.PullAsync(repo, null, null);
        Assert.True(tokens.TokensIssued > before);
        Assert.Contains("repository:team/busybox:pull", tokens.ScopesAsked);

        string pushed = $"{reg.Host}/team/pushed:v1";
        s.Tag(repo, pushed);
        await s.PushAsync(pushed, null);
        Assert.Contains("repository:team/pushed:pull,push", tokens.ScopesAsked);
        Assert.Contains("repository:team/busybox:pull", tokens.ScopesAsked); // the cross-repository mount's source
        TestProcess.Run("skopeo", "inspect", "--raw", "--tls-verify=false", $"--creds={User}:{Password}", $"docker://{pushed}");

        // Wrong password: the token server says no, and the message says so in one line.
        new CredentialStore(cfg).Save(reg.Host, new Credentials(User, "wrong"));
        using var bad = Service(t.Sub("bad"), cfg);
        var e = await Assert.ThrowsAsync<RegistryException>(() => bad.PullAsync(repo, null, null));
        Assert.Contains("token server", e.Message);
        Assert.Contains("refused", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void Credential_store_shares_docker_config_json_and_keeps_other_keys()
    {
        using var t = new TempDir();
        string cfg = Path.Combine(t.Path, "config.json");
        File.WriteAllText(cfg, """{"auths":{"https://index.docker.io/v1/":{"auth":"ZG9ja2VyOmh1Yg=="}},"HttpHeaders":{"X-Meta":"1"}}""");
        var store = new CredentialStore(cfg);
        Assert.Equal(new Credentials("docker", "hub"), store.Get("docker.io"));
        store.Save("127.0.0.1:5000", new Credentials("u", "p:w"));
        Assert.Equal(new Credentials("u", "p:w"), new CredentialStore(cfg).Get("127.0.0.1:5000"));
        Assert.Contains("X-Meta", File.ReadAllText(cfg));
        Assert.True(store.Remove("127.0.0.1:5000"));
        Assert.False(store.Remove("127.0.0.1:5000"));
        Assert.Null(store.Get("127.0.0.1:5000"));
        Assert.NotNull(store.Get("docker.io"));
    }

    [Fact]
    public void Challenges_parse_with_quoted_commas()
    {
        var c = AuthChallenge.Parse("Bearer realm=\"https://auth.example/token\",service=\"reg,istry\",scope=\"repository:a/b:pull,push\"")!;
        Assert.Equal("Bearer", c.Scheme);
        Assert.Equal("https://auth.example/token", c["realm"]);
        Assert.Equal("reg,istry", c["service"]);
        Assert.Equal("repository:a/b:pull,push", c["scope"]);
    }
}

public sealed class UmociImageFixture : IDisposable
{
    public UmociImage Image { get; } = new();
    public void Dispose() => Image.Dispose();
}
