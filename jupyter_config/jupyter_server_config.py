# Production example: Jupyter Server (or JupyterLab) whose home is a OneLake folder.
#
# Every OneLake setting can come from the environment instead (the JupyterHub snippet beside this
# file sets them per user); what is set here wins over the environment.
c = get_config()  # noqa: F821 - provided by Jupyter

c.ServerApp.contents_manager_class = "onelake_contents.OneLakeContentsManager"

# Where: the workspace (name or GUID) and the user's folder, at or below <item>/Files.
# ONELAKE_WORKSPACE / ONELAKE_ROOT
c.OneLakeContentsManager.workspace = "Analytics"
c.OneLakeContentsManager.root = "Team.Lakehouse/Files/home/alice"
# ONELAKE_ENDPOINT: the default is the global endpoint; a regional one also works.
# c.OneLakeContentsManager.endpoint = "https://westeurope-onelake.dfs.fabric.microsoft.com"

# Authentication: the platform token broker (see README, "The token broker contract").
# ONELAKE_BROKER_URL / ONELAKE_BROKER_TOKEN_FILE (re-read on 401, so rotating the file is enough)
c.OneLakeContentsManager.broker_url = "https://token-broker.platform.internal"
c.OneLakeContentsManager.broker_token_file = "/var/run/secrets/onelake/client-token"
# ONELAKE_CA_FILE: a private CA for the broker (and OneLake, behind a TLS-inspecting proxy).
# c.OneLakeContentsManager.ca_file = "/etc/ssl/certs/platform-ca.pem"

# Caching and limits.
c.OneLakeContentsManager.metadata_ttl = 10  # seconds a listing is trusted
c.OneLakeContentsManager.max_content_bytes = 64 * 1024 * 1024  # larger files: download via /files/
c.OneLakeContentsManager.create_root = True  # a new user's folder is created on first use
c.OneLakeContentsManager.last_writer_wins = False  # 409 instead of overwriting changes made elsewhere

# Checkpoints are files in OneLake (.ipynb_checkpoints/<name>/ beside each file).
c.OneLakeCheckpoints.max_checkpoints = 10

# Kernels cannot cd into OneLake: they start in this local directory.
c.ServerApp.root_dir = "/home/jovyan/work"

# The contents API refuses request bodies above what the manager would save (max_content_bytes
# plus base64/JSON overhead) before tornado buffers them; big files travel as chunked uploads.
c.ServerApp.max_body_size = 96 * 1024 * 1024

# jupyter-collaboration (real-time collaboration): file ids must not come from a local disk, and
# the Y store (every notebook's edit history) lives in a temporary file of this server, not in a
# lasting `.jupyter_ystore.db` beside the server (mount an emptyDir or tmpfs at /tmp).
c.FileIdExtension.file_id_manager_class = "jupyter_server_fileid.manager.ArbitraryFileIdManager"
c.YDocExtension.ystore_class = "jupyter_server_ydoc.stores.SQLiteYStore"
c.SQLiteYStore.db_path = "/tmp/jupyter_ystore.db"
