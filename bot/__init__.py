"""Ban VSTBPN assistant: application core (config, storage, services, channels)."""
