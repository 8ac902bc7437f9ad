"""The Journeyboard server: a pure board core wrapped by REST, websocket and MongoDB adapters."""
