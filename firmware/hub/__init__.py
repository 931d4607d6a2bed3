"""The training history hub: stores every rep and set from MQTT exactly once, serves history.

Imported only by `repsled hub`, `repsled history` and the demo; never by `repsled run`, so a
station does not need SQLAlchemy, Alembic, Starlette or uvicorn.
"""
