namespace Berth.RuntimeCli;

public static class Cli
{
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("berth-runtime: not yet");
        return 1;
    }
}
