"""HTTP and WebSocket routes of the maskwatch server, one module per concern."""
