"""Types shared by the Journeyboard server and SDK: the board model, ops, REST bodies, errors.

This package imports only msgspec, so any client can depend on it without the server.
"""
