"""Duty views and duty administration in chat: /duties, /calendar, /deadline, /duty."""
