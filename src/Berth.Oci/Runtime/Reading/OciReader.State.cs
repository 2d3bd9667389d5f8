namespace Berth.Oci.Runtime.Reading;

// The OCI state (Runtime/State.cs), which berth-runtime hands its init in every create;
// why by hand: see OciReader.Spec.cs.
public static partial class OciReader
{
    public static ContainerState ReadContainerState(ref JsonCursor c)
    {
        if (!c.StartObject("an object (ContainerState)")) return null!;
        var v = new ContainerState();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "ociVersion": v.OciVersion = c.String()!; break;
                case "id": v.Id = c.String()!; break;
                case "status": v.Status = c.String()!; break;
                case "pid": v.Pid = c.Int32(); break;
                case "bundle": v.Bundle = c.String()!; break;
                case "annotations": v.Annotations = c.Map(JsonCursor.StringElement); break;
                default: c.Skip(); break;
            }
        return v;
    }
}
