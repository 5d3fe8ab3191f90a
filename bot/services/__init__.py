"""Domain services: units, members, invites, conversations. No chat platform in here."""
