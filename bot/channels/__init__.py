"""Channel adapters: each turns one platform into neutral messages and back."""
