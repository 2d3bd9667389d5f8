using Berth.Engine.Containers;
using Microsoft.AspNetCore.Builder;

namespace Berth.Engine.Api;

/// <summary>The copy, export, changes and commit routes of a container (docker cp, export, diff, commit).</summary>
public static class ContainerArchiveEndpoints
{
    public static void Map(WebApplication app, ContainerService cs)
    {
    }
}
