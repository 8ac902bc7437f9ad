"""The `journeyboard` program: one command line over the server and the SDK."""
