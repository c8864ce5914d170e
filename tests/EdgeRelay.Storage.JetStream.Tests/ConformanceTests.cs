using EdgeRelay.Testing.Conformance;

namespace EdgeRelay.Storage.JetStream.Tests;

public sealed class JetStreamMessageQueueConformance : MessageQueueConformance
{
    protected override StorageBackend CreateBackend() => new JetStreamBackend();
}

public sealed class JetStreamAddressRegistryConformance : AddressRegistryConformance
{
    protected override StorageBackend CreateBackend() => new JetStreamBackend();
}

public sealed class JetStreamDurabilityConformance : DurabilityConformance
{
    protected override StorageBackend CreateBackend() => new JetStreamBackend();
}

public sealed class JetStreamAddressAdministrationConformance : AddressAdministrationConformance
{
    protected override StorageBackend CreateBackend() => new JetStreamBackend();
}

public sealed class JetStreamOutboundQueueConformance : OutboundQueueConformance
{
    protected override OutboundBackend CreateBackend() => new JetStreamOutboundBackend();
}
