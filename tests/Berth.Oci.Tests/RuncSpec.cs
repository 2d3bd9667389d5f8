using System.Diagnostics;

namespace Berth.Oci.Tests;

/// <summary>What the installed runc (1.1.5, the reference) writes for `runc spec [--rootless]`.</summary>
internal static class RuncSpec
{
    public static string Json(bool rootless)
    {
        var runc = new[] { "/usr/sbin/runc", "/usr/bin/runc" }.FirstOrDefault(File.Exists);
        Assert.True(runc is not null, "runc 1.1.5 is installed on the project's machines (.ci/packages.txt); tests compare against its `runc spec`");
        var dir = Directory.CreateTempSubdirectory("berth-runc-spec-");
        try
        {
            var psi = new ProcessStartInfo(runc!) { WorkingDirectory = dir.FullName, RedirectStandardError = true };
            psi.ArgumentList.Add("spec");
            if (rootless) psi.ArgumentList.Add("--rootless");
            using (var p = Process.Start(psi)!)
            {
                p.WaitForExit();
                Assert.True(p.ExitCode == 0, p.StandardError.ReadToEnd());
            }
            return File.ReadAllText(Path.Combine(dir.FullName, "config.json"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
