using System.Threading.Channels;
using Berth.Engine.Api;

namespace Berth.Engine.Events;

/// <summary>The daemon's event stream: a bounded history for since/until replays and live subscribers.</summary>
public sealed class EventBus
{
    private readonly List<EventMessage> _history = [];
    private readonly List<Channel<EventMessage>> _subs = [];
    private const int HistoryLimit = 1024;

    public void Publish(string type, string action, string id, Dictionary<string, string> attributes)
    {
        long nano = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
        var e = new EventMessage
        {
            Type = type, Action = action,
            Actor = new EventActor { ID = id, Attributes = attributes },
            Time = nano / 1_000_000_000, TimeNano = nano,
        };
        if (type == "container") { e.Status = action; e.Id = id; attributes.TryGetValue("image", out var img); e.From = img; }
        lock (_subs)
        {
            _history.Add(e);
            if (_history.Count > HistoryLimit) _history.RemoveAt(0);
            foreach (var s in _subs) s.Writer.TryWrite(e);
        }
    }

    /// <summary>Past events since <paramref name="sinceNano"/> and a channel of the ones to come.</summary>
    public (List<EventMessage> Past, ChannelReader<EventMessage> Live, IDisposable Subscription) Subscribe(long sinceNano)
    {
        var ch = Channel.CreateUnbounded<EventMessage>();
        lock (_subs)
        {
            _subs.Add(ch);
            var past = _history.Where(e => e.TimeNano >= sinceNano).ToList();
            return (past, ch.Reader, new Unsub(this, ch));
        }
    }

    private sealed class Unsub(EventBus bus, Channel<EventMessage> ch) : IDisposable
    {
        public void Dispose() { lock (bus._subs) bus._subs.Remove(ch); ch.Writer.TryComplete(); }
    }
}
