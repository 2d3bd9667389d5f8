using Berth.Engine.Containers;
using Microsoft.AspNetCore.Builder;

namespace Berth.Engine.Api;

/// <summary>The /system routes (df) and other daemon-wide queries.</summary>
public static class SystemEndpoints
{
    public static void Map(WebApplication app, ContainerService cs)
    {
    }
}
