"""The composition root: the one package that builds every service and runs the lifespan.

Nothing under `src/` imports it but the entry points (`src/main.py`, `src/cli.py`,
`src/testing`); `src/api` reads only the services container (`src/app/services.py`).
"""
