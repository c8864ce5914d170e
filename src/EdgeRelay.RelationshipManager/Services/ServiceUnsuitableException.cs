namespace EdgeRelay.RelationshipManager.Services;

/// <summary>
/// A service that works but cannot take this envelope now (its current size limit is below it, or there is no
/// card to send to): the next service is tried, and this one is not rested as if it had failed.
/// </summary>
internal sealed class ServiceUnsuitableException(string message) : Exception(message);
