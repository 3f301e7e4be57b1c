"""The Jupyter side: models, the contents manager, checkpoints, the /files/ handler, the kernel
session manager and the server extension that wires them into a Jupyter server."""
