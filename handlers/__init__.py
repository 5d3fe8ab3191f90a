"""Channel-neutral conversation logic: one copy for Telegram, Zalo and the console."""
