# JupyterHub snippet: each user's server gets its OneLake folder and a way to reach the broker.
# The broker client token is mounted as a file (a Kubernetes secret, say), never put in the
# environment of notebooks; the server re-reads it when the broker answers 401.
c = get_config()  # noqa: F821 - provided by JupyterHub

c.Spawner.environment = {
    "ONELAKE_WORKSPACE": "Analytics",
    "ONELAKE_ROOT": "Team.Lakehouse/Files/home/{username}",
    "ONELAKE_BROKER_URL": "https://token-broker.platform.internal",
    "ONELAKE_BROKER_TOKEN_FILE": "/var/run/secrets/onelake/client-token",
    # "ONELAKE_CA_FILE": "/etc/ssl/certs/platform-ca.pem",
}
c.Spawner.args = [
    "--ServerApp.contents_manager_class=onelake_contents.OneLakeContentsManager",
    # bodies above max_content_bytes (plus base64/JSON overhead) are refused before being buffered
    f"--ServerApp.max_body_size={96 * 1024 * 1024}",
    "--FileIdExtension.file_id_manager_class=jupyter_server_fileid.manager.ArbitraryFileIdManager",
    # real-time collaboration's edit history in a temporary file, not a lasting local copy
    "--YDocExtension.ystore_class=jupyter_server_ydoc.stores.SQLiteYStore",
    "--SQLiteYStore.db_path=/tmp/jupyter_ystore.db",
]
# KubeSpawner: mount the client token for every user's pod.
# c.KubeSpawner.volumes = [{"name": "onelake-token", "secret": {"secretName": "onelake-broker-client"}}]
# c.KubeSpawner.volume_mounts = [{"name": "onelake-token", "mountPath": "/var/run/secrets/onelake", "readOnly": True}]
