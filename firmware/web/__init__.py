"""The live web dashboard: static page (static/) and the tiny server that hands it out.

The page talks MQTT over WebSockets straight to the broker; the server only serves files and
`/config.json` (which broker, which topic prefix), so it needs no MQTT of its own.
"""
