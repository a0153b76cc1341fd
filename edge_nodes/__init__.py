"""Edge nodes on the host side: registry provisioning and virtual nodes that run the firmware logic."""
