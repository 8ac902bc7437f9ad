"""The Journeyboard Python SDK: typed clients over the REST API and the live websocket.

It shares its data types with the server through `schemas` and never imports `server`.
"""
