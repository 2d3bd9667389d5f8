using System.Text.Json;
using Berth.Engine.Api;
using Berth.Oci;
using Berth.Oci.Runtime;

namespace Berth.Engine.Containers;

/// <summary>
/// docker update (POST /containers/{id}/update): resources and the restart policy. The record
/// keeps the new values; a running (or paused) container gets them at once through
/// `berth-runtime update`. Checked like create, plus docker's update conflicts; a failed update
/// changes nothing.
/// </summary>
public sealed partial class ContainerService
{
    public async Task<List<string>> UpdateAsync(Container c, UpdateRequest u)
    {
        var warnings = new List<string>();
        await c.Lock.WaitAsync();
        try
        {
            var hc = c.R.HostConfig;
            if (u.RestartPolicy is { Name: not "" } rp)
            {
                if (rp.Name is not ("no" or "always" or "unless-stopped" or "on-failure"))
                    throw EngineException.BadRequest($"invalid restart policy: unknown policy '{rp.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'");
                if (rp.MaximumRetryCount < 0) throw EngineException.BadRequest("invalid restart policy: maximum retry count cannot be negative");
                if (rp.MaximumRetryCount > 0 && rp.Name != "on-failure") throw EngineException.BadRequest("invalid restart policy: maximum retry count can only be used with 'on-failure'");
                if (hc.AutoRemove && rp.Name != "no") throw EngineException.BadRequest("Restart policy cannot be updated because AutoRemove is enabled for the container");
            }
            if (u.NanoCpus > 0 && (hc.CpuQuota > 0 || hc.CpuPeriod > 0) && u.CpuQuota == 0 && u.CpuPeriod == 0)
                throw EngineException.Conflict("Conflicting options: Nano CPUs cannot be updated as CPU Period/Quota has already been set");
            if ((u.CpuQuota > 0 || u.CpuPeriod > 0) && hc.NanoCpus > 0 && u.NanoCpus == 0)
                throw EngineException.Conflict("Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set");
            if (u.Memory > 0 && u.MemorySwap == 0 && hc.MemorySwap > 0 && u.Memory > hc.MemorySwap)
                throw EngineException.Conflict("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time");
            long memory = u.Memory != 0 ? u.Memory : hc.Memory, swap = u.MemorySwap != 0 ? u.MemorySwap : hc.MemorySwap;
            long reservation = u.MemoryReservation != 0 ? u.MemoryReservation : hc.MemoryReservation;
            RunFlagValidation.ValidateResources(memory, swap, reservation, u.NanoCpus, u.CpuQuota, u.CpuPeriod, u.CpusetCpus, u.BlkioWeight, warnings);
            ushort blkio = u.BlkioWeight;
            if (blkio > 0 && !RunFlagValidation.BlkioWeightSupported)
            {
                warnings.Add("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.");
                blkio = 0;
            }

            if (c.Running)
            {
                var res = new LinuxResources
                {
                    Memory = SpecBuilder.MemoryOf(u.Memory, u.MemorySwap, u.MemoryReservation, null),
                    Cpu = SpecBuilder.CpuOf(u.CpuShares, u.NanoCpus, u.CpuQuota, u.CpuPeriod, u.CpusetCpus, u.CpusetMems),
                };
                if (u.PidsLimit is { } pl) res.Pids = new LinuxPids { Limit = pl > 0 ? pl : -1 };
                if (blkio > 0) res.BlockIo = new LinuxBlockIo { Weight = blkio };
                string file = Path.Combine(BundleDir(c.Id), "update.json");
                File.WriteAllBytes(file, JsonSerializer.SerializeToUtf8Bytes(res, OciJsonContext.Default.LinuxResources));
                try { await Runtime.RunAsync(c.Id, BundleDir(c.Id), "update", "--resources", file, c.Id); }
                catch (RuntimeCommandException e) { throw new EngineException(500, $"Cannot update container {c.Id}: {e.Message}"); }
                finally { File.Delete(file); }
            }

            if (u.Memory != 0) hc.Memory = u.Memory;
            if (u.MemorySwap != 0) hc.MemorySwap = u.MemorySwap;
            if (u.MemoryReservation != 0) hc.MemoryReservation = u.MemoryReservation;
            if (u.CpuShares != 0) hc.CpuShares = u.CpuShares;
            if (u.NanoCpus != 0) hc.NanoCpus = u.NanoCpus;
            if (u.CpuQuota != 0) hc.CpuQuota = u.CpuQuota;
            if (u.CpuPeriod != 0) hc.CpuPeriod = u.CpuPeriod;
            if (u.CpusetCpus != "") hc.CpusetCpus = u.CpusetCpus;
            if (u.CpusetMems != "") hc.CpusetMems = u.CpusetMems;
            if (u.PidsLimit is { } p) hc.PidsLimit = p > 0 ? p : null;
            if (blkio > 0) hc.BlkioWeight = blkio;
            if (u.RestartPolicy is { Name: not "" } np) hc.RestartPolicy = np;
            Persist(c);
        }
        finally { c.Lock.Release(); }
        Publish(c, "update");
        return warnings;
    }
}
