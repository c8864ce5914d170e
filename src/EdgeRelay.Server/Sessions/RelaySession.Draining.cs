namespace EdgeRelay.Server;

// A drained relay refuses new messages (SEND, SEND_VIA) with DRAINING and goes on with everything else: the
// check is one field read on the SEND path, before the address is resolved, so a drained relay spends no HPKE
// open on a message it will refuse.
public sealed partial class RelaySession
{
    private const string DrainingReason = "the relay's operator drained it: it takes no new messages now; send elsewhere or retry later";
}
