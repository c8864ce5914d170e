namespace EdgeRelay.Delivery;

/// <summary>One live subscription: a delivery target, the credit it granted, and (in its address' pump) what is in flight to it.</summary>
public sealed class Subscription
{
    internal Subscription(AddressPush address, IDeliveryTarget target, uint credit)
    {
        Address = address;
        Target = target;
        Credit = credit;
    }

    public AddressId AddressId => Address.Id;

    public IDeliveryTarget Target { get; }

    internal AddressPush Address { get; }

    /// <summary>Messages the pump may still push to it; guarded by the address' lock.</summary>
    internal uint Credit { get; set; }

    internal bool Removed { get; set; }
}
