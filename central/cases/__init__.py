"""Cases: SOS requests registered, merged, cancelled, and the ACK each one earns."""
